import type { Agent } from 'node:http';
import { sleep } from '../core/async.js';
import { EXIT_TASK_CRASH } from '../core/exit-codes.js';
import type { Logger } from '../core/logger.js';
import { uniformInt as randomInt, type Random } from '../core/prng.js';
import { createAgent, openStream, postJson } from './http-transport.js';
import type { ReportResult, WorkMessage } from './protocol.js';
import { SseParser } from './sse-parser.js';

/** Batch size when --batchsize is not given: uniform over these, both ends possible (the exercise). */
export const MIN_RANDOM_BATCH = 2;
export const MAX_RANDOM_BATCH = 10;
/** A task whose period is over this fails as a panic would; the worker lives on. */
export const PANIC_PERIOD = 800;
/** A task whose period is over this ends the whole worker with EXIT_TASK_CRASH. */
export const EXIT_PERIOD = 900;
/** Reconnect backoff: doubles from the first value to the cap, with jitter; reset by a hello. */
export const RECONNECT_FIRST_MS = 100;
export const RECONNECT_MAX_MS = 2000;
/** No byte on the stream for this long (the dispatcher pings every 15 s) means it is dead: reconnect. */
export const STREAM_IDLE_TIMEOUT_MS = 60_000;
export const REPORT_TIMEOUT_MS = 10_000;
/** Most bytes of an error body quoted in a log line. */
const MAX_ERROR_TEXT = 300;

export type TaskOutcome = 'succeeded' | 'panicked' | 'rejected' | 'cancelled';

export interface WorkerStats {
  batches: number;
  tasks: Record<TaskOutcome, number>;
  reports: number;
  accepted: number;
  ignored: number;
  reportErrors: number;
  connects: number;
}

export interface WorkerOptions {
  url: string;
  /** Fixed batch size; random in 2..10 when undefined. */
  batchsize?: number;
  /** Multiplies every task's sleep; 0 = no sleep. */
  timeScale: number;
  /** false: a period over 900 panics like one over 800 instead of ending the worker (load tests). Default true. */
  exitRule?: boolean;
  random: Random;
  logger: Logger;
  signal: AbortSignal;
  /** HTTP keep-alive agent (shared by a swarm); one of its own otherwise. */
  agent?: Agent;
  /** Log the >900 exit at debug rather than error (a swarm, where it is routine and counted). */
  quietExit?: boolean;
  /** The >900 rule fired: called at that moment with the exit code. The process role exits here. */
  onExit?(code: number): void;
  onTask?(outcome: TaskOutcome): void;
  onReport?(result: ReportResult): void;
}

export class TaskPanic extends Error {
  override name = 'TaskPanic';
}

interface Batch {
  started: number;
  ended: number;
  succeeded: string[];
}

export const newWorkerStats = (): WorkerStats => ({
  batches: 0,
  tasks: { succeeded: 0, panicked: 0, rejected: 0, cancelled: 0 },
  reports: 0,
  accepted: 0,
  ignored: 0,
  reportErrors: 0,
  connects: 0,
});

/**
 * The exercise client: holds a /task stream, runs one task per message (a sleep of `period` ms),
 * and once all N tasks of a batch have ended reports the ids that succeeded. Panics (period > 800)
 * are caught; period > 900 ends the worker. A lost stream is reopened with backoff.
 */
export class Worker {
  readonly batchsize: number;
  readonly stats = newWorkerStats();
  client: string | undefined;
  private running = 0;
  private batch: Batch = { started: 0, ended: 0, succeeded: [] };
  private exitCode: number | undefined;
  private readonly stop = new AbortController();
  private readonly agent: Agent;
  private readonly ownAgent: boolean;

  constructor(private readonly options: WorkerOptions) {
    this.batchsize = options.batchsize ?? randomInt(options.random, MIN_RANDOM_BATCH, MAX_RANDOM_BATCH);
    this.ownAgent = !options.agent;
    this.agent = options.agent ?? createAgent();
  }

  /** Runs until the signal aborts (resolves undefined) or the >900 rule fires (resolves the exit code). */
  async run(): Promise<number | undefined> {
    const onAbort = () => this.stop.abort();
    this.options.signal.addEventListener('abort', onAbort, { once: true });
    let backoff = RECONNECT_FIRST_MS;
    try {
      while (!this.stop.signal.aborted) {
        const started = this.stats.connects;
        try {
          await this.session();
          if (!this.stop.signal.aborted) this.options.logger.warn({ client: this.client }, 'stream ended by the dispatcher; reconnecting');
        } catch (err) {
          if (!this.stop.signal.aborted) this.options.logger.warn({ client: this.client, err }, `stream lost; reconnecting in ~${backoff} ms`);
        }
        if (this.stop.signal.aborted) break;
        if (this.stats.connects > started) backoff = RECONNECT_FIRST_MS;
        await sleep(backoff / 2 + this.options.random() * (backoff / 2), this.stop.signal);
        backoff = Math.min(backoff * 2, RECONNECT_MAX_MS);
      }
    } finally {
      this.options.signal.removeEventListener('abort', onAbort);
      if (this.ownAgent) this.agent.destroy();
    }
    return this.exitCode;
  }

  /** One /task stream, from connect to loss. Tasks of a lost stream are cancelled: their batch already failed. */
  private async session(): Promise<void> {
    const session = new AbortController();
    const abortSession = () => session.abort();
    this.stop.signal.addEventListener('abort', abortSession, { once: true });
    this.batch = { started: 0, ended: 0, succeeded: [] };
    try {
      const res = await openStream(new URL(`/task?batchsize=${this.batchsize}`, this.options.url), this.agent, session.signal, STREAM_IDLE_TIMEOUT_MS);
      if (res.statusCode !== 200) {
        let text = '';
        for await (const chunk of res) text += String(chunk);
        throw new Error(`GET /task answered ${res.statusCode}: ${text.slice(0, MAX_ERROR_TEXT)}`);
      }
      const parser = new SseParser();
      const decoder = new TextDecoder();
      for await (const chunk of res as AsyncIterable<Buffer>) {
        for (const item of parser.feed(decoder.decode(chunk, { stream: true }))) {
          if (item.type !== 'event') continue;
          if (item.event.event === 'hello') this.onHello(item.event.data);
          else if (item.event.event === 'msg') this.onMessage(item.event.data, session.signal);
        }
      }
    } finally {
      this.stop.signal.removeEventListener('abort', abortSession);
      session.abort();
    }
  }

  private onHello(data: string): void {
    const hello = JSON.parse(data) as { client: string; batchsize: number };
    this.client = hello.client;
    this.stats.connects++;
    this.options.logger.debug({ client: this.client, batchsize: this.batchsize }, 'connected');
  }

  private onMessage(data: string, signal: AbortSignal): void {
    const message = JSON.parse(data) as WorkMessage;
    if (this.running >= this.batchsize) {
      this.stats.tasks.rejected++;
      this.options.onTask?.('rejected');
      this.options.logger.error({ client: this.client, id: message.id, running: this.running }, `message ${message.id} arrived while ${this.running} tasks already run; no task started`);
      return;
    }
    const batch = this.batch;
    batch.started++;
    this.running++;
    void this.task(message, batch, signal);
  }

  private async task(message: WorkMessage, batch: Batch, signal: AbortSignal): Promise<void> {
    let outcome: TaskOutcome = 'succeeded';
    try {
      const ms = message.period * this.options.timeScale;
      if (ms > 0) await sleep(ms, signal);
      if (signal.aborted) {
        outcome = 'cancelled';
        return;
      }
      if (message.period > EXIT_PERIOD && this.options.exitRule !== false) {
        this.exit(message);
        outcome = 'cancelled';
        return;
      }
      if (message.period > PANIC_PERIOD) throw new TaskPanic(`task ${message.id} panicked: period ${message.period} > ${PANIC_PERIOD}`);
      batch.succeeded.push(message.id);
    } catch (err) {
      outcome = 'panicked';
      this.options.logger.warn({ client: this.client, id: message.id, period: message.period }, `recovered: ${(err as Error).message}`);
    } finally {
      this.running--;
      batch.ended++;
      this.stats.tasks[outcome]++;
      this.options.onTask?.(outcome);
      if (outcome !== 'cancelled' && batch === this.batch && batch.started === this.batchsize && batch.ended === batch.started) {
        this.batch = { started: 0, ended: 0, succeeded: [] };
        void this.report(batch.succeeded);
      }
    }
  }

  private exit(message: WorkMessage): void {
    this.exitCode = EXIT_TASK_CRASH;
    this.options.logger[this.options.quietExit ? 'debug' : 'error']({ client: this.client, id: message.id, period: message.period }, `task ${message.id} has period ${message.period} > ${EXIT_PERIOD}: the worker exits with code ${EXIT_TASK_CRASH}`);
    this.stop.abort();
    this.options.onExit?.(EXIT_TASK_CRASH);
  }

  private async report(ids: string[]): Promise<void> {
    this.stats.batches++;
    const client = this.client;
    try {
      const { status, text } = await postJson(new URL('/report', this.options.url), this.agent, { 'x-client-id': client ?? '' }, JSON.stringify(ids), REPORT_TIMEOUT_MS);
      if (status !== 200) throw new Error(`POST /report answered ${status}: ${text.slice(0, MAX_ERROR_TEXT)}`);
      const result = JSON.parse(text) as ReportResult;
      this.stats.reports++;
      this.stats.accepted += result.accepted;
      this.stats.ignored += result.ignored;
      this.options.onReport?.(result);
      this.options.logger.debug({ client, reported: ids.length, ...result }, 'reported');
    } catch (err) {
      this.stats.reportErrors++;
      if (!this.stop.signal.aborted) this.options.logger.warn({ client, reported: ids.length, err }, 'report failed; the dispatcher will retry the batch');
    }
  }
}

export function addStats(total: WorkerStats, s: WorkerStats): void {
  total.batches += s.batches;
  for (const k of Object.keys(total.tasks) as TaskOutcome[]) total.tasks[k] += s.tasks[k];
  total.reports += s.reports;
  total.accepted += s.accepted;
  total.ignored += s.ignored;
  total.reportErrors += s.reportErrors;
  total.connects += s.connects;
}
