/** IPC between echo-bench and its generator processes (child_process.fork of generator-process.js). */

export interface OpenCommand {
  type: 'open';
  host: string;
  port: number;
  /** Message size in bytes. */
  size: number;
  connections: number;
  /** Seeds the message bytes; each connection derives its own. */
  seed: number;
  requestTimeoutMs: number;
}

export type ToGenerator =
  | OpenCommand
  /** Run the opened connections closed-loop: warm up, measure, drain, close. */
  | { type: 'start'; warmupMs: number; durationMs: number }
  /** Open idle connections (no traffic) and keep them. */
  | { type: 'hold'; host: string; port: number; connections: number }
  | { type: 'release' };

export interface GeneratorResult {
  /** Requests whose echo completed inside the measurement window. */
  requests: number;
  /** Latencies of those requests, HDR histogram in microseconds, compressed base64. */
  histogram: string;
  /** Failures by kind over the whole cell (connect, reset, timeout, closed...). */
  errors: Record<string, number>;
  /** Echoes whose bytes differed from what was sent. */
  mismatches: number;
  /** CPU seconds this generator process used in the window, and the window's length. */
  cpuSeconds: number;
  elapsedSeconds: number;
  connections: number;
}

export interface OpenResult {
  opened: number;
  errors: Record<string, number>;
}

export type FromGenerator =
  | { type: 'ready' }
  | ({ type: 'opened' } & OpenResult)
  | { type: 'result'; result: GeneratorResult }
  | ({ type: 'held' } & OpenResult)
  | { type: 'released' }
  | { type: 'failed'; message: string };
