import type { Logger } from './logger.js';
import { Counter, type Registry } from './metrics.js';

/** At most this many rejection log lines per window; the rest are counted and summed up in the next line. */
export const REJECTION_LOG_BURST = 10;
export const REJECTION_LOG_WINDOW_MS = 10_000;

/**
 * Logs at a bounded rate: up to `burst` lines per `windowMs`, then one line per window that says how
 * many were suppressed. The first line after a quiet spell carries `suppressed` for what was left out.
 * Hostile input can arrive at line rate; the log must not.
 */
export class RateLimitedLog {
  private windowStart = -Infinity;
  private inWindow = 0;
  private suppressed = 0;

  constructor(
    private readonly logger: Logger,
    private readonly level: 'warn' | 'info' | 'debug' | 'error' = 'warn',
    private readonly burst = REJECTION_LOG_BURST,
    private readonly windowMs = REJECTION_LOG_WINDOW_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  log(fields: Record<string, unknown>, message: string): void {
    const t = this.now();
    if (t - this.windowStart >= this.windowMs) {
      this.windowStart = t;
      this.inWindow = 0;
    }
    if (this.inWindow >= this.burst) {
      this.suppressed++;
      return;
    }
    this.inWindow++;
    if (this.suppressed > 0) {
      this.logger[this.level]({ ...fields, suppressed: this.suppressed }, `${message} (${this.suppressed} similar lines suppressed)`);
      this.suppressed = 0;
    } else this.logger[this.level](fields, message);
  }

  /** How many lines were left out since the last one written. */
  get pending(): number {
    return this.suppressed;
  }
}

/**
 * Counts every rejected input by reason in `<name>` (a counter with label `reason`, every reason's
 * child created at zero so dashboards show 0, not "No data") and logs it at a bounded rate.
 */
export class Rejections<R extends string> {
  readonly counter: Counter<'reason'>;
  private readonly log: RateLimitedLog;

  constructor(
    registry: Registry,
    name: string,
    help: string,
    readonly reasons: readonly R[],
    logger: Logger,
    private readonly what = 'input',
  ) {
    this.counter = new Counter({ name, help, labelNames: ['reason'], registers: [registry] });
    for (const reason of reasons) this.counter.labels(reason).inc(0);
    this.log = new RateLimitedLog(logger);
  }

  reject(reason: R, fields: Record<string, unknown> = {}): void {
    this.counter.labels(reason).inc();
    this.log.log({ ...fields, reason }, `rejected ${this.what}: ${reason}`);
  }
}
