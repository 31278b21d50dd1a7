import { within } from './async.js';
import { EXIT_FAILED, EXIT_OK, exitCodeForSignal } from './exit-codes.js';
import type { Logger } from './logger.js';

type Hook = { name: string; run: (deadline: number) => Promise<void> | void };

/**
 * Ordered shutdown: hooks run last-registered first (so a server stops accepting before the pool
 * it uses is closed), all within one grace period shared by every hook.
 */
export class Lifecycle {
  private readonly hooks: Hook[] = [];
  private readonly controller = new AbortController();
  private shutdownPromise: Promise<boolean> | undefined;

  constructor(
    private readonly logger: Logger,
    readonly graceMs: number,
  ) {}

  /**
   * The exit code once a signal's graceful shutdown has finished cleanly: 0, unless the role says its
   * work was cut short (`netlab lab` sets 128 + the signal's number: 130 after Ctrl-C).
   */
  exitCodeAfterSignal: (signal: NodeJS.Signals) => number = () => EXIT_OK;

  /** Aborted when shutdown begins; long loops and waits listen to it. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get closing(): boolean {
    return this.controller.signal.aborted;
  }

  onShutdown(name: string, run: Hook['run']): void {
    this.hooks.push({ name, run });
  }

  /** Runs every hook once; resolves true when all finished inside the grace period. */
  shutdown(reason: string): Promise<boolean> {
    this.shutdownPromise ??= this.runHooks(reason);
    return this.shutdownPromise;
  }

  private async runHooks(reason: string): Promise<boolean> {
    this.logger.info({ reason, graceMs: this.graceMs }, `shutting down (${reason})`);
    this.controller.abort(reason);
    const deadline = Date.now() + this.graceMs;
    let clean = true;
    for (const hook of [...this.hooks].reverse()) {
      const left = deadline - Date.now();
      try {
        const outcome = await within(Promise.resolve(hook.run(deadline)).then(() => 'done' as const), left);
        if (outcome === undefined) {
          clean = false;
          this.logger.warn({ hook: hook.name }, `shutdown step "${hook.name}" did not finish within the grace period`);
        }
      } catch (err) {
        clean = false;
        this.logger.error({ err, hook: hook.name }, `shutdown step "${hook.name}" failed`);
      }
    }
    return clean;
  }

  /** SIGTERM/SIGINT start a graceful shutdown and exit; a second signal exits at once with 128 + its number. */
  installSignalHandlers(exit: (code: number) => void = (code) => process.exit(code)): void {
    let received = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      received++;
      if (received > 1) {
        this.logger.warn(`second ${signal}: exiting now`);
        exit(exitCodeForSignal(signal));
        return;
      }
      void this.shutdown(signal).then((clean) => exit(clean ? this.exitCodeAfterSignal(signal) : EXIT_FAILED));
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }
}
