import type pg from 'pg';
import type { Logger } from '../core/logger.js';

export const PROBE_INTERVAL_MS = 500;

/** SQLSTATE classes and driver errors that mean "the database is not there", not "the query is wrong". */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  if (typeof e?.code === 'string') {
    if (/^(08|57P)/.test(e.code)) return true; // connection exception, operator intervention
    if (['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN'].includes(e.code)) return true;
  }
  const message = e?.message ?? '';
  return /Connection terminated|connection timeout|Client has encountered a connection error|not queryable/i.test(message);
}

/**
 * pg-pool's error when every pooled connection stayed busy for connectionTimeoutMillis. The pool is
 * saturated, the database may be fine: the request is answered 503, the database is not marked down
 * (that would turn a burst of load into an outage for every client). A connection that really fails
 * to open in time is "Connection terminated due to connection timeout", a connection error.
 */
export function isPoolBusyError(err: unknown): boolean {
  return /timeout exceeded when trying to connect/i.test((err as { message?: string })?.message ?? '');
}

/**
 * Whether the database answers. Once a query fails for want of a connection, callers are told at
 * once (503) instead of waiting for connect timeouts, and a probe brings service back by itself.
 */
export class DatabaseHealth {
  private up = false;
  private probing: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly logger: Logger,
    private readonly onChange: (up: boolean) => void = () => {},
  ) {}

  get available(): boolean {
    return this.up;
  }

  markUp(): void {
    if (this.up) return;
    this.up = true;
    this.logger.info('database available');
    this.onChange(true);
  }

  /** Reports a failed query; a connection failure takes the database down and starts probing. */
  report(err: unknown): void {
    if (!isConnectionError(err)) return;
    if (this.up) {
      this.up = false;
      this.logger.warn({ err }, 'database unavailable; answering 503 until it returns');
      this.onChange(false);
    }
    this.startProbe();
  }

  startProbe(): void {
    if (this.probing || this.stopped) return;
    // A failed probe schedules the next; tick itself never rejects.
    const tick = async () => {
      try {
        await this.pool.query('SELECT 1 FROM message_clock WHERE id = 1');
        this.probing = undefined;
        this.markUp();
      } catch {
        if (!this.stopped) this.probing = setTimeout(() => void tick(), PROBE_INTERVAL_MS);
      }
    };
    this.probing = setTimeout(() => void tick(), 0);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.probing);
  }
}
