import { EXIT_FAILED, EXIT_OK } from './exit-codes.js';
import type { Logger } from './logger.js';
import { Lifecycle } from './lifecycle.js';
import { createLogger, logFatalErrors } from './logger.js';
import { createRegistry, serveMetrics, type Registry } from './metrics.js';
import { opt, parseOptions, renderHelp, type OptionSpecs, type OptionValues } from './options.js';

/** The options every role has. */
export const commonOptions = {
  logLevel: opt.choice('log level', ['trace', 'debug', 'info', 'warn', 'error', 'silent'], 'info'),
  metricsPort: opt.port('port of the Prometheus /metrics server; 0 turns it off', 9464),
  metricsHost: opt.string('address the /metrics server binds to', '0.0.0.0'),
  grace: opt.duration('how long in-flight work may take to finish after SIGTERM', '10s', 's'),
} satisfies OptionSpecs;

export type CommonOptions = OptionValues<typeof commonOptions>;

export interface RoleContext {
  logger: Logger;
  lifecycle: Lifecycle;
  registry: Registry;
  positionals: string[];
}

/**
 * A role: its flags and what it does. `run` resolves with an exit code when the role is done by
 * itself (a bench), or with undefined when it serves until a signal.
 */
export interface Role<S extends OptionSpecs = OptionSpecs> {
  name: string;
  summary: string;
  usage?: string;
  positionals?: boolean;
  /**
   * True for a subcommand that prints its result and exits (`dispatcher dead-letters`): its stdout is
   * the result, so log lines go to stderr, and it starts no /metrics server.
   */
  isTool?: (positionals: string[]) => boolean;
  /** The role's own flags; every role also has `commonOptions`. */
  options: S;
  run(options: OptionValues<S> & CommonOptions, context: RoleContext): Promise<number | undefined>;
}

export function defineRole<S extends OptionSpecs>(role: Role<S>): Role<S> {
  return role;
}

export function roleHelp(role: Role): string {
  return renderHelp(role.name, role.summary, { ...role.options, ...commonOptions }, role.usage);
}

/** Parses flags, sets up logging, metrics and signals, runs the role, and exits with its code. */
export async function runRole(role: Role, argv: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  const specs = { ...role.options, ...commonOptions };
  const parsed = parseOptions(specs, argv, env, role.positionals);
  if (parsed.help) {
    process.stdout.write(roleHelp(role));
    return;
  }
  const options = parsed.values as OptionValues<typeof specs>;
  const tool = role.isTool?.(parsed.positionals) ?? false;
  const logger = createLogger(role.name, options.logLevel, tool ? 2 : 1);
  logFatalErrors(logger);
  const lifecycle = new Lifecycle(logger, options.grace);
  lifecycle.installSignalHandlers();
  const registry = createRegistry(role.name);
  const metricsServer = tool ? undefined : await serveMetrics(registry, options.metricsPort, options.metricsHost, logger);
  if (metricsServer) lifecycle.onShutdown('metrics server', () => new Promise<void>((r) => {
    metricsServer.close(() => r());
    metricsServer.closeAllConnections();
  }));

  let code: number | undefined;
  try {
    code = await role.run(options, { logger, lifecycle, registry, positionals: parsed.positionals });
  } catch (err) {
    // A role that fails half-way through its start (its port taken, say) has already started things
    // (an embedded PostgreSQL, child processes): its shutdown hooks stop them before the error is reported.
    logger.error({ err }, `${role.name} failed: ${err instanceof Error ? err.message : String(err)}`);
    await lifecycle.shutdown('failed');
    throw err;
  }
  if (code !== undefined) {
    const clean = await lifecycle.shutdown('done');
    process.exit(code !== EXIT_OK ? code : clean ? EXIT_OK : EXIT_FAILED);
  }
}
