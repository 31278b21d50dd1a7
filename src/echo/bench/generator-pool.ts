import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as hdr from 'hdr-histogram-js';
import type { FromGenerator, GeneratorResult, OpenResult, ToGenerator } from './generator-protocol.js';
import { newLatencyHistogram } from './load-generator.js';

const GENERATOR_ENTRY = fileURLToPath(new URL('./generator-process.js', import.meta.url));
/** A generator that does not answer within this long (beyond the cell's own time) has failed. */
export const GENERATOR_REPLY_TIMEOUT_MS = 60_000;
/** A generator process using this share of one core in the window was saturated: its numbers are suspect. */
export const GENERATOR_SATURATED_CPU = 0.9;

/**
 * How echo-bench splits the machine by default: half the cores (at least one) run generator
 * processes, the rest (at least one) the server's workers. A closed-loop generator spends about as
 * much CPU per echo as the server (the same write, read and wake-up in the kernel for every
 * message), so this is the split where neither waits for the other; one more busy process than
 * cores would make both share cores in scheduler time slices of milliseconds, which is what the
 * p99 then measures.
 */
export function defaultLoadSplit(cores = availableParallelism()): { generators: number; workers: number } {
  const generators = Math.max(1, Math.floor(cores / 2));
  return { generators, workers: Math.max(1, cores - generators) };
}

export interface CellLoad {
  host: string;
  port: number;
  size: number;
  connections: number;
  warmupMs: number;
  durationMs: number;
  requestTimeoutMs: number;
  seed: number;
}

export interface MergedLoad {
  requests: number;
  elapsedSeconds: number;
  histogram: hdr.Histogram;
  errors: Record<string, number>;
  mismatches: number;
  connectionsOpened: number;
  /** Per generator process that had connections: share of one core it used in the window. */
  generatorCpu: number[];
}

/** Splits `total` as evenly as possible over `parts`. */
export const split = (total: number, parts: number): number[] =>
  Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));

function addErrors(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}

class Generator {
  private waiting: { type: FromGenerator['type']; resolve: (m: FromGenerator) => void; reject: (e: Error) => void } | undefined;
  readonly exited: Promise<void>;

  constructor(readonly child: ChildProcess) {
    child.on('message', (msg: FromGenerator) => {
      const w = this.waiting;
      if (!w) return;
      if (msg.type === 'failed') w.reject(new Error(`load generator failed: ${msg.message}`));
      else if (msg.type === w.type) w.resolve(msg);
      else return;
      this.waiting = undefined;
    });
    this.exited = new Promise((resolve) =>
      child.once('exit', (code) => {
        this.waiting?.reject(new Error(`load generator exited with code ${code}`));
        this.waiting = undefined;
        resolve();
      }),
    );
  }

  /** Sends a command and resolves with the reply of the given type. */
  ask<T extends FromGenerator['type']>(msg: ToGenerator | undefined, type: T, timeoutMs = GENERATOR_REPLY_TIMEOUT_MS): Promise<Extract<FromGenerator, { type: T }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        reject(new Error(`load generator did not answer ${msg?.type ?? 'start-up'} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting = {
        type,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m as Extract<FromGenerator, { type: T }>);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      if (msg) this.child.send(msg);
    });
  }
}

/**
 * Load-generator processes, separate from the bench and the server so neither shares an event loop
 * with the load; started once and reused for every cell.
 */
export class GeneratorPool {
  /** Which generators got connections in the current cell (a cell with 1 connection uses one). */
  private active: boolean[] = [];

  private constructor(private readonly generators: Generator[]) {}

  static async start(count: number): Promise<GeneratorPool> {
    const generators = Array.from({ length: count }, () => {
      const child = fork(GENERATOR_ENTRY, [], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        execArgv: [],
      });
      return new Generator(child);
    });
    const pool = new GeneratorPool(generators);
    try {
      await Promise.all(generators.map((g) => g.ask(undefined, 'ready')));
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  get size(): number {
    return this.generators.length;
  }

  /** Opens the cell's connections on every generator; resolves when all are open. */
  async open(cell: CellLoad): Promise<OpenResult> {
    const shares = split(cell.connections, this.generators.length);
    const replies = await Promise.all(
      this.generators.map((g, i) =>
        shares[i]! > 0
          ? g.ask({ type: 'open', host: cell.host, port: cell.port, size: cell.size, connections: shares[i]!, seed: cell.seed * 64 + i, requestTimeoutMs: cell.requestTimeoutMs }, 'opened')
          : undefined,
      ),
    );
    this.active = replies.map((r) => r !== undefined);
    const errors: Record<string, number> = {};
    let opened = 0;
    for (const r of replies) if (r) {
      opened += r.opened;
      addErrors(errors, r.errors);
    }
    return { opened, errors };
  }

  /** Runs the opened connections closed-loop: warmup, measurement window, drain; merges the generators' results. */
  async run(cell: CellLoad, opened: OpenResult): Promise<MergedLoad> {
    const budget = cell.warmupMs + cell.durationMs + cell.requestTimeoutMs + GENERATOR_REPLY_TIMEOUT_MS;
    const results: GeneratorResult[] = await Promise.all(
      this.generators.flatMap((g, i) => (this.active[i] ? [g.ask({ type: 'start', warmupMs: cell.warmupMs, durationMs: cell.durationMs }, 'result', budget).then((r) => r.result)] : [])),
    );
    const histogram = newLatencyHistogram();
    const errors: Record<string, number> = { ...opened.errors };
    let requests = 0;
    let mismatches = 0;
    let elapsed = 0;
    for (const r of results) {
      histogram.add(hdr.decodeFromCompressedBase64(r.histogram));
      addErrors(errors, r.errors);
      requests += r.requests;
      mismatches += r.mismatches;
      elapsed = Math.max(elapsed, r.elapsedSeconds);
    }
    return {
      requests,
      elapsedSeconds: elapsed,
      histogram,
      errors,
      mismatches,
      connectionsOpened: opened.opened,
      generatorCpu: results.map((r) => (r.elapsedSeconds > 0 ? r.cpuSeconds / r.elapsedSeconds : 0)),
    };
  }

  /** Opens idle connections spread over every generator process. */
  async hold(host: string, port: number, connections: number): Promise<OpenResult> {
    const shares = split(connections, this.generators.length);
    const replies = await Promise.all(this.generators.map((g, i) => g.ask({ type: 'hold', host, port, connections: shares[i]! }, 'held')));
    const errors: Record<string, number> = {};
    for (const r of replies) addErrors(errors, r.errors);
    return { opened: replies.reduce((a, r) => a + r.opened, 0), errors };
  }

  async release(): Promise<void> {
    await Promise.all(this.generators.map((g) => g.ask({ type: 'release' }, 'released')));
  }

  async close(): Promise<void> {
    for (const g of this.generators) if (g.child.connected) g.child.disconnect();
    const timer = setTimeout(() => this.generators.forEach((g) => g.child.kill('SIGKILL')), 2000);
    await Promise.all(this.generators.map((g) => g.exited));
    clearTimeout(timer);
  }
}
