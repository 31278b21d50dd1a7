import { OptionError } from './errors.js';
import { EXIT_FAILED, EXIT_OK } from './exit-codes.js';
import { Lifecycle } from './lifecycle.js';
import type { Logger } from './logger.js';
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
}

/**
 * A role: its flags and what it does. `run` resolves with an exit code when the role is done by
 * itself (a bench), or with undefined when it serves until a signal. A subcommand
 * (`netlab dispatcher dead-letters`) is a role of its own, declared in its parent's `subCommands`.
 */
export interface Role<S extends OptionSpecs = OptionSpecs> {
  name: string;
  summary: string;
  usage?: string;
  /**
   * True for a command that prints its result and exits (`dispatcher dead-letters`): its stdout is the
   * result, so log lines go to stderr, and it starts no /metrics server.
   */
  tool?: boolean;
  /** The role's own flags; every role also has `commonOptions`. */
  options: S;
  /** `netlab <role> <name> [flags]` runs the subcommand named `name` instead, with its own flags. */
  subCommands?: readonly Role[];
  run(options: OptionValues<S> & CommonOptions, context: RoleContext): Promise<number | undefined>;
}

export function defineRole<S extends OptionSpecs>(role: Role<S>): Role<S> {
  return role;
}

/** A role's subcommand, defined like a role; its logs and metrics still carry the parent role's name. */
export const defineSubCommand = defineRole;

/**
 * The command `argv` names: the role itself, or the subcommand its first argument names (with the
 * arguments after it). `title` is what help and errors call it (`dispatcher dead-letters`).
 */
export function resolveCommand(role: Role, argv: readonly string[]): { command: Role; argv: readonly string[]; title: string } {
  const [first, ...rest] = argv;
  const subs = role.subCommands ?? [];
  if (first === undefined || first.startsWith('-') || subs.length === 0) return { command: role, argv, title: role.name };
  const sub = subs.find((s) => s.name === first);
  if (!sub) {
    const names = subs.map((s) => s.name);
    throw new OptionError(`unknown subcommand "${first}" (${names.length === 1 ? `the only one is ${names[0]}` : `one of ${names.join(', ')}`})`);
  }
  return { command: sub, argv: rest, title: `${role.name} ${sub.name}` };
}

export function roleHelp(role: Role, title = role.name): string {
  const help = renderHelp(title, role.summary, { ...role.options, ...commonOptions }, role.usage);
  const subs = role.subCommands ?? [];
  if (subs.length === 0) return help;
  const width = Math.max(...subs.map((s) => s.name.length));
  return [help.trimEnd(), '', 'Subcommands (each has its own --help):', ...subs.map((s) => `  ${s.name.padEnd(width)}  ${s.summary}`), ''].join('\n');
}

/** Parses flags, sets up logging, metrics and signals, runs the role (or its subcommand), and exits with its code. */
export async function runRole(role: Role, argv: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  const { command, argv: args, title } = resolveCommand(role, argv);
  const specs = { ...command.options, ...commonOptions };
  const parsed = parseOptions(specs, args, env);
  if (parsed.help) {
    process.stdout.write(roleHelp(command, title));
    return;
  }
  const options = parsed.values as OptionValues<typeof specs>;
  const tool = command.tool ?? false;
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
    code = await command.run(options, { logger, lifecycle, registry });
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
