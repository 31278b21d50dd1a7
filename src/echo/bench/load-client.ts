/**
 * `netlab echo-load`: steady, paced traffic to an echo server that runs elsewhere (the chart's echo
 * Deployment), so its dashboards have something to show. Unlike the benchmark's closed loop, each
 * connection sends one message every 1/rate seconds and checks the echo byte for byte: the load is a
 * fixed, small share of a node, and the round trip is measured under it.
 */
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../core/logger.js';
import { Counter, Histogram, type Registry } from '../../core/metrics.js';
import { RateLimitedLog } from '../../core/rejections.js';
import { buildMessage, stampSequence } from './message.js';

/** A connection that failed is opened again after this pause. */
export const RECONNECT_DELAY_MS = 1000;
/** An echo not complete after this long counts as a timeout, and the connection is replaced. */
export const ECHO_TIMEOUT_MS = 10_000;
const RTT_BUCKETS_S = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
export const ECHO_LOAD_ERRORS = ['connect', 'reset', 'timeout', 'mismatch'] as const;
export type EchoLoadError = (typeof ECHO_LOAD_ERRORS)[number];

export interface EchoLoadOptions {
  host: string;
  port: number;
  connections: number;
  size: number;
  /** Messages per second on each connection. */
  rate: number;
  durationMs: number;
  signal: AbortSignal;
  registry: Registry;
  logger: Logger;
}

export interface EchoLoadSummary {
  echoed: number;
  errors: Record<EchoLoadError, number>;
  p50_ms: number;
  p99_ms: number;
}

function metrics(registry: Registry) {
  const echoed = new Counter({ name: 'netlab_echo_load_echoed_total', help: 'messages sent and echoed back intact', registers: [registry] });
  const errors = new Counter({ name: 'netlab_echo_load_errors_total', help: 'connections lost, by reason (connect, reset, timeout, mismatch)', labelNames: ['reason'], registers: [registry] });
  for (const reason of ECHO_LOAD_ERRORS) errors.labels(reason).inc(0);
  const rtt = new Histogram({ name: 'netlab_echo_load_rtt_seconds', help: 'time from sending a message to the last byte of its echo', buckets: RTT_BUCKETS_S, registers: [registry] });
  return { echoed, errors, rtt };
}

/** One connection's loop: connect, then send, wait for the whole echo, compare, pause, again. */
async function connectionLoop(index: number, o: EchoLoadOptions, m: ReturnType<typeof metrics>, summary: EchoLoadSummary, rtts: number[], log: RateLimitedLog): Promise<void> {
  const message = buildMessage(o.size, index + 1);
  const periodMs = 1000 / o.rate;
  let sequence = 0;
  const fail = (reason: EchoLoadError, detail: string) => {
    m.errors.labels(reason).inc();
    summary.errors[reason]++;
    log.log({ connection: index, reason, detail }, `echo connection ${index}: ${reason}`);
  };
  while (!o.signal.aborted) {
    const socket = await open(o.host, o.port).catch((err: Error) => {
      fail('connect', err.message);
      return undefined;
    });
    if (!socket) {
      await sleep(RECONNECT_DELAY_MS, undefined, { signal: o.signal }).catch(() => undefined);
      continue;
    }
    try {
      for (let next = performance.now(); !o.signal.aborted; ) {
        stampSequence(message, sequence++);
        const started = performance.now();
        const outcome = await echo(socket, message, o.signal);
        if (outcome === 'aborted') break;
        if (outcome !== 'ok') {
          fail(outcome, `after ${sequence - 1} echoes`);
          break;
        }
        const seconds = (performance.now() - started) / 1000;
        m.echoed.inc();
        m.rtt.observe(seconds);
        summary.echoed++;
        if (rtts.length < 100_000) rtts.push(seconds * 1000);
        next += periodMs;
        const wait = next - performance.now();
        if (wait > 0) await sleep(wait, undefined, { signal: o.signal }).catch(() => undefined);
        else next = performance.now(); // behind schedule: do not burst to catch up
      }
    } finally {
      socket.destroy();
    }
    if (!o.signal.aborted) await sleep(RECONNECT_DELAY_MS, undefined, { signal: o.signal }).catch(() => undefined);
  }
}

function open(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, noDelay: true, timeout: ECHO_TIMEOUT_MS });
    socket.once('connect', () => {
      socket.setTimeout(0);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new Error(`connect to ${host}:${port} timed out`));
    });
    socket.once('error', reject);
  });
}

/** Writes `message` and waits until exactly its bytes come back. */
function echo(socket: Socket, message: Buffer, signal: AbortSignal): Promise<'ok' | 'aborted' | EchoLoadError> {
  return new Promise((resolve) => {
    let received = 0;
    let result: 'ok' | 'aborted' | EchoLoadError | undefined;
    const finish = (r: 'ok' | 'aborted' | EchoLoadError) => {
      if (result) return;
      result = r;
      clearTimeout(timer);
      socket.off('data', onData).off('close', onClose).off('error', onClose);
      signal.removeEventListener('abort', onAbort);
      resolve(r);
    };
    const onData = (chunk: Buffer) => {
      if (received + chunk.length > message.length || !chunk.equals(message.subarray(received, received + chunk.length))) return finish('mismatch');
      received += chunk.length;
      if (received === message.length) finish('ok');
    };
    const onClose = () => finish('reset');
    const onAbort = () => finish('aborted');
    const timer = setTimeout(() => finish('timeout'), ECHO_TIMEOUT_MS);
    socket.on('data', onData).once('close', onClose).once('error', onClose);
    signal.addEventListener('abort', onAbort, { once: true });
    socket.write(message);
  });
}

const percentile = (sorted: number[], q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : 0);

/** Runs the load until `durationMs` (0: until the signal) and returns what it saw. */
export async function runEchoLoad(o: EchoLoadOptions): Promise<EchoLoadSummary> {
  const m = metrics(o.registry);
  const summary: EchoLoadSummary = { echoed: 0, errors: { connect: 0, reset: 0, timeout: 0, mismatch: 0 }, p50_ms: 0, p99_ms: 0 };
  const rtts: number[] = [];
  const log = new RateLimitedLog(o.logger);
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  o.signal.addEventListener('abort', onAbort, { once: true });
  const timer = o.durationMs > 0 ? setTimeout(onAbort, o.durationMs) : undefined;
  o.logger.info({ host: o.host, port: o.port, connections: o.connections, size: o.size, rate: o.rate }, `echo load: ${o.connections} connections x ${o.rate}/s of ${o.size} B to ${o.host}:${o.port}`);
  await Promise.all(Array.from({ length: o.connections }, (_, i) => connectionLoop(i, { ...o, signal: stop.signal }, m, summary, rtts, log)));
  clearTimeout(timer);
  o.signal.removeEventListener('abort', onAbort);
  rtts.sort((a, b) => a - b);
  summary.p50_ms = percentile(rtts, 0.5);
  summary.p99_ms = percentile(rtts, 0.99);
  return summary;
}
