import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import { within } from '../core/async.js';
import { UnavailableError } from '../core/errors.js';
import { EXIT_FAILED } from '../core/exit-codes.js';
import type { Logger } from '../core/logger.js';
import { probeReusePort } from '../core/net.js';
import { deriveSeed, mulberry32, randomSeed } from '../core/prng.js';
import { RateLimitedLog } from '../core/rejections.js';
import type { RoleContext } from '../core/role.js';
import { openEventLog } from './log-file.js';
import { serverMetrics, type ServerMetrics } from './metrics.js';
import { checkRange, serverSettings, type ServerBehaviourOptions } from './options.js';
import { BAD_LINE_REASONS } from './protocol.js';
import { DROP_REASONS, PingPongServerCore } from './server-core.js';
import type { FromServerThread, ServerThreadConfig, ToServerThread } from './server-thread.js';
import { listenPingPong } from './server-transport.js';
import { SharedServerState, badLineStat, droppedStat, requestStat } from './shared-state.js';

export interface PingPongServerOptions extends ServerBehaviourOptions {
  host: string;
  port: number;
  log: string;
  quiet: boolean;
  seed: number | undefined;
  maxWriteBuffer: number;
  /** Threads holding the connections; 1 = everything on the main thread. */
  threads: number;
}

/** The line the server logs once it accepts connections; the orchestrator and the bench wait for it. */
export const LISTENING_MESSAGE = 'pingpong server listening';
/** A thread that has not started listening by then fails the start. */
const THREAD_START_TIMEOUT_MS = 15_000;

/**
 * The ping-pong server. Serves until SIGTERM, then stops accepting and reading, lets the answers
 * already decided on go out, and closes. With --threads N above 1 the connections are spread over
 * N worker threads (startThreadedServer); otherwise one event loop holds them all.
 */
export async function startPingPongServer(options: PingPongServerOptions, context: Pick<RoleContext, 'logger' | 'lifecycle' | 'registry'>): Promise<{ port: number; anchorMs: number }> {
  checkRange('delay', options.delayMin, options.delayMax);
  const seed = options.seed ?? randomSeed();
  if (options.threads > 1) return startThreadedServer(options, seed, context);
  const { logger, lifecycle, registry } = context;
  const metrics = serverMetrics(registry);
  const log = openEventLog(options.log);
  const say = (line: string) => {
    if (!options.quiet) process.stdout.write(line + '\n');
  };

  // Every bad line is counted; the log gets at most REJECTION_LOG_BURST of them per window (a flood of 64 KiB of
  // newlines is 65,536 bad lines).
  const badLineLog = new RateLimitedLog(logger);
  const core = new PingPongServerCore(serverSettings(options), mulberry32(seed), log, {
    request(_session, outcome) {
      metrics.requests.inc({ outcome });
      metrics.counter.set(core.nextK);
    },
    badLine(session, reason, text) {
      metrics.badLines.inc({ reason });
      badLineLog.log({ client: session.id, reason, line: text.slice(0, 200), badLines: session.badLines }, `bad line from client ${session.id} (${reason})`);
    },
    keepalive(k, recipients, lagMs, broadcastMs) {
      metrics.keepalives.inc();
      metrics.keepaliveMessages.inc(recipients);
      metrics.keepaliveLag.observe(Math.max(0, lagMs) / 1000);
      metrics.keepaliveBroadcast.observe(broadcastMs / 1000);
      metrics.counter.set(core.nextK);
      logger.debug({ k, recipients, lagMs, broadcastMs }, 'keepalive sent');
    },
  });

  const listener = await listenPingPong(core, { host: options.host, port: options.port, maxWriteBuffer: options.maxWriteBuffer }, logger, {
    say,
    connected() {
      metrics.connections.inc();
      metrics.connected.inc();
    },
    disconnected: () => metrics.connected.dec(),
    dropped: (_session, reason) => metrics.dropped.inc({ reason }),
  });
  const anchorMs = core.startKeepalives();
  logListening(logger, options, listener.port, seed, anchorMs, 1);

  lifecycle.onShutdown('pingpong server', async (deadline) => {
    await listener.close(deadline);
    log.close();
    logger.info({ counter: core.nextK }, 'pingpong server stopped');
  });
  return { port: listener.port, anchorMs };
}

function logListening(logger: Logger, options: PingPongServerOptions, port: number, seed: number, anchorMs: number, threads: number): void {
  const scale = options.timeScale;
  logger.info(
    { port, host: options.host, seed, timeScale: scale, threads, keepaliveAnchorMs: anchorMs, keepalivePeriodMs: options.keepalivePeriod * scale, log: options.log || null },
    `${LISTENING_MESSAGE} on ${options.host}:${port}`,
  );
}

interface ThreadHandle {
  worker: Worker;
  /** Resolves with the thread's port once it listens; rejects if it cannot. */
  listening: Promise<number>;
  exited: Promise<void>;
}

/**
 * --threads N: N worker threads each listen on the port (SO_REUSEPORT) and hold the connections the
 * kernel gives them; client numbers and k come from one SharedServerState, so they are server-wide
 * sequences as with one thread. The main thread starts them, gives them one keepalive schedule,
 * serves the metrics (summed over the threads) and stops them on shutdown.
 */
async function startThreadedServer(options: PingPongServerOptions, seed: number, { logger, lifecycle, registry }: Pick<RoleContext, 'logger' | 'lifecycle' | 'registry'>): Promise<{ port: number; anchorMs: number }> {
  const threads = options.threads;
  const reusePort = await probeReusePort();
  if (!reusePort.supported) throw new UnavailableError(`--threads ${threads} is not available: ${reusePort.reason}`);
  const state = SharedServerState.create(threads);
  const metrics = serverMetrics(registry, syncFrom(state));
  const keepalives = keepaliveAggregator(metrics, threads, options.keepalivePeriod * options.timeScale, logger);
  if (options.log) {
    // Each run starts the file fresh; the threads append to it, one whole line per write.
    mkdirSync(dirname(options.log), { recursive: true });
    closeSync(openSync(options.log, 'w'));
  }
  let stopping = false;
  let failed = false;

  const spawn = (index: number, port: number): ThreadHandle => {
    const config: ServerThreadConfig = { index, options: { ...options, port }, seed: deriveSeed(seed, index), buffer: state.buffer, logLevel: logger.level };
    const worker = new Worker(new URL('./server-thread.js', import.meta.url), { workerData: config, name: `pingpong-${index}` });
    let listened = false;
    const listening = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`pingpong server thread ${index} did not start listening within ${THREAD_START_TIMEOUT_MS} ms`)), THREAD_START_TIMEOUT_MS);
      worker.on('message', (msg: FromServerThread) => {
        if (msg.type === 'listening') {
          listened = true;
          clearTimeout(timer);
          resolve(msg.port);
        } else if (msg.type === 'error') {
          clearTimeout(timer);
          reject(Object.assign(new Error(msg.message), msg.code ? { code: msg.code } : {}));
        } else if (msg.type === 'keepalive') keepalives.report(msg);
      });
      worker.once('exit', (code) => {
        clearTimeout(timer);
        if (!listened) reject(new Error(`pingpong server thread ${index} exited with code ${code} before listening`));
      });
    });
    worker.on('error', (err) => logger.error({ thread: index, err }, `pingpong server thread ${index} failed`));
    const exited = new Promise<void>((resolve) =>
      worker.once('exit', (code) => {
        resolve();
        if (!stopping && listened && !failed) {
          // A thread holds a share of the clients and of the counter's traffic: the server cannot go on without it.
          failed = true;
          logger.error({ thread: index, code }, `pingpong server thread ${index} exited unexpectedly (code ${code}); stopping the server`);
          void lifecycle.shutdown('server thread failed').then(() => process.exit(EXIT_FAILED));
        }
      }),
    );
    return { worker, listening, exited };
  };

  const handles: ThreadHandle[] = [];
  const stopAll = async (deadline: number) => {
    stopping = true;
    for (const h of handles) h.worker.postMessage({ type: 'shutdown', deadline } satisfies ToServerThread);
    if ((await within(Promise.all(handles.map((h) => h.exited)), deadline - Date.now())) === undefined) for (const h of handles) void h.worker.terminate();
    await Promise.all(handles.map((h) => h.exited));
  };
  let port: number;
  try {
    // The first thread binds the port (it may be 0: any free port); the others join it.
    handles.push(spawn(0, options.port));
    port = await handles[0]!.listening;
    for (let i = 1; i < threads; i++) handles.push(spawn(i, port));
    await Promise.all(handles.map((h) => h.listening));
  } catch (err) {
    await stopAll(Date.now() + 2000);
    throw err;
  }
  const anchorMs = Date.now();
  for (const h of handles) h.worker.postMessage({ type: 'start', anchorMs } satisfies ToServerThread);
  logListening(logger, options, port, seed, anchorMs, threads);

  lifecycle.onShutdown('pingpong server', async (deadline) => {
    await stopAll(deadline);
    keepalives.flush();
    logger.info({ counter: state.nextK }, 'pingpong server stopped');
  });
  return { port, anchorMs };
}

/** Brings the registry's counters up to the shared ones; runs before every scrape. */
function syncFrom(state: SharedServerState): (metrics: ServerMetrics) => void {
  const seen = new Map<string, number>();
  const add = (key: string, value: number, inc: (delta: number) => void) => {
    const delta = value - (seen.get(key) ?? 0);
    if (delta > 0) {
      inc(delta);
      seen.set(key, value);
    }
  };
  return (m) => {
    m.connected.set(state.connected);
    m.counter.set(state.nextK);
    m.threadsHeap.set(state.heapUsed);
    add('connections', state.connections, (d) => m.connections.inc(d));
    for (const outcome of ['answered', 'ignored', 'abandoned'] as const) add(requestStat(outcome), state.stat(requestStat(outcome)), (d) => m.requests.inc({ outcome }, d));
    for (const reason of BAD_LINE_REASONS) add(badLineStat(reason), state.stat(badLineStat(reason)), (d) => m.badLines.inc({ reason }, d));
    for (const reason of DROP_REASONS) add(droppedStat(reason), state.stat(droppedStat(reason)), (d) => m.dropped.inc({ reason }, d));
  };
}

/**
 * Each thread reports its part of a broadcast; the metrics see one broadcast per k: lag from the
 * schedule to the first thread's start, duration until the last thread queued its last line.
 */
function keepaliveAggregator(metrics: ServerMetrics, threads: number, periodMs: number, logger: Logger) {
  type Part = Extract<FromServerThread, { type: 'keepalive' }>;
  const open = new Map<number, { parts: Part[]; timer: NodeJS.Timeout }>();
  const finish = (k: number) => {
    const entry = open.get(k);
    if (!entry) return;
    open.delete(k);
    clearTimeout(entry.timer);
    const { parts } = entry;
    const started = Math.min(...parts.map((p) => p.startedAt));
    const ended = Math.max(...parts.map((p) => p.endedAt));
    const recipients = parts.reduce((sum, p) => sum + p.recipients, 0);
    const lagMs = started - parts[0]!.scheduledAt;
    metrics.keepalives.inc();
    metrics.keepaliveMessages.inc(recipients);
    metrics.keepaliveLag.observe(Math.max(0, lagMs) / 1000);
    metrics.keepaliveBroadcast.observe((ended - started) / 1000);
    logger.debug({ k, recipients, lagMs, broadcastMs: ended - started, perThread: parts.map((p) => p.recipients) }, 'keepalive sent');
  };
  return {
    report(part: Part) {
      let entry = open.get(part.k);
      // A thread that missed the slot (a period late) never reports it: close the broadcast a period on.
      if (!entry) open.set(part.k, (entry = { parts: [], timer: setTimeout(() => finish(part.k), periodMs).unref() }));
      entry.parts.push(part);
      if (entry.parts.length === threads) finish(part.k);
    },
    flush() {
      for (const k of [...open.keys()]) finish(k);
    },
  };
}
