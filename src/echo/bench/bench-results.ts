import { z } from 'zod';

/**
 * The shape of DIR/results.json written by `netlab echo-bench` (documented in docs/echo.md).
 * Bump RESULTS_SCHEMA when a field changes meaning or goes away; adding fields keeps the version.
 */
export const RESULTS_SCHEMA = 'netlab.echo-bench/1';

const latency = z.object({
  p50: z.number().nonnegative(),
  p90: z.number().nonnegative(),
  p99: z.number().nonnegative(),
  max: z.number().nonnegative(),
  mean: z.number().nonnegative(),
});

export const cellSchema = z.object({
  /** Target name: loop | cluster | threads | python-threaded | python-asyncio. */
  target: z.string(),
  /** Message size in bytes. */
  size: z.number().int().positive(),
  /** Concurrent connections, each with one request outstanding (closed loop). */
  connections: z.number().int().positive(),
  connectionsOpened: z.number().int().nonnegative(),
  /** Echoes completed inside the measurement window. */
  requests: z.number().int().nonnegative(),
  elapsedSeconds: z.number().nonnegative(),
  rps: z.number().nonnegative(),
  /** Payload bytes per second one way (rps x size). */
  bytesPerSecond: z.number().nonnegative(),
  /** Round-trip latency of one message, HDR histogram, microseconds. */
  latencyUs: latency,
  /** Failures by kind over the whole cell (warmup included): ECONNRESET, timeout, closed_by_server... */
  errors: z.record(z.string(), z.number().int().nonnegative()),
  errorCount: z.number().int().nonnegative(),
  /** Echoes whose bytes differed from what was sent. */
  mismatches: z.number().int().nonnegative(),
  server: z.object({
    /** CPU seconds of the server process and its children in the window, from /proc/<pid>/stat. */
    cpuSeconds: z.number().nonnegative(),
    /** cpuSeconds / window, in cores (1.0 = one core busy all the time). */
    cpuCores: z.number().nonnegative(),
    /** Highest sampled VmRSS sum over the server's processes in the window, bytes. */
    peakRssBytes: z.number().int().nonnegative(),
    processes: z.number().int().nonnegative(),
  }),
  generator: z.object({
    processes: z.number().int().nonnegative(),
    /** Busiest generator process, in cores (1.0 = saturated). */
    maxCpuCores: z.number().nonnegative(),
    saturated: z.boolean(),
  }),
  /** Share of all the machine's cores busy in the window (every process on it). */
  machineCpuBusy: z.number().min(0).max(1),
});

export const idleSchema = z.object({
  target: z.string(),
  requested: z.number().int().nonnegative(),
  opened: z.number().int().nonnegative(),
  errors: z.record(z.string(), z.number().int().nonnegative()),
  openSeconds: z.number().nonnegative(),
  rssBeforeBytes: z.number().int().nonnegative(),
  rssAfterBytes: z.number().int().nonnegative(),
  /** (rssAfter - rssBefore) / opened. */
  rssPerConnectionBytes: z.number(),
  /** A fresh connection still got a correct echo while the idle ones were held. */
  stillServing: z.boolean(),
  /** Generator processes the idle connections were opened from (at least two). */
  generatorProcesses: z.number().int().positive().optional(),
});

export const resultsSchema = z.object({
  schema: z.literal(RESULTS_SCHEMA),
  startedAt: z.string(),
  finishedAt: z.string(),
  durationSeconds: z.number().nonnegative(),
  machine: z.object({
    cpus: z.number().int().positive(),
    cpuModel: z.string(),
    node: z.string(),
    platform: z.string(),
    kernel: z.string(),
    /** 1/5/15-minute load averages when the bench started and when it ended. */
    loadAverageStart: z.array(z.number()).length(3),
    loadAverageEnd: z.array(z.number()).length(3),
  }),
  config: z.object({
    models: z.array(z.string()),
    baselines: z.array(z.string()),
    sizes: z.array(z.number().int().positive()),
    connections: z.array(z.number().int().positive()),
    durationMs: z.number().nonnegative(),
    warmupMs: z.number().nonnegative(),
    workers: z.number().int().positive(),
    generators: z.number().int().positive(),
    requestTimeoutMs: z.number().nonnegative(),
    idleConnections: z.number().int().nonnegative(),
  }),
  targets: z.array(z.object({ name: z.string(), kind: z.enum(['netlab', 'baseline']), description: z.string(), command: z.string() })),
  /** Targets asked for that did not run, and why: unavailable here (threads on an old Node, no python3) or failed to start. */
  skipped: z.array(z.object({ target: z.string(), reason: z.string(), failed: z.boolean() })),
  /** The cell the headline numbers come from (64 B x 50 connections when in the grid). */
  mainCell: z.object({ size: z.number().int().positive(), connections: z.number().int().positive() }),
  cells: z.array(cellSchema),
  idle: idleSchema.optional(),
});

export type EchoCell = z.infer<typeof cellSchema>;
export type IdleResult = z.infer<typeof idleSchema>;
export type EchoResults = z.infer<typeof resultsSchema>;

export const cellLabel = (size: number, connections: number): string => `${formatBytes(size)} x ${connections}`;

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} B`;
}

/** The main cell: 64 B x 50 connections when both are in the grid, else the first size and the busiest grid point. */
export function pickMainCell(sizes: readonly number[], connections: readonly number[]): { size: number; connections: number } {
  return {
    size: sizes.includes(64) ? 64 : sizes[0]!,
    connections: connections.includes(50) ? 50 : Math.max(...connections),
  };
}
