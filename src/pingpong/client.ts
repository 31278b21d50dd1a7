import { writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { sleep, within } from '../core/async.js';
import { OptionError } from '../core/errors.js';
import { EXIT_OK } from '../core/exit-codes.js';
import { summarize, type LatencySummary } from '../core/latency-stats.js';
import type { Logger } from '../core/logger.js';
import { deriveSeed, mulberry32, randomSeed, uniform, type Random } from '../core/prng.js';
import type { RoleContext } from '../core/role.js';
import { PingPongClientCore } from './client-core.js';
import { epochNow } from './clock.js';
import { LineDecoder } from './line-decoder.js';
import { NO_LOG, openEventLog, type EventLog } from './log-file.js';
import { MARKER_SETS, type MarkerSetName } from './log-format.js';
import { clientMetrics, type ClientMetrics } from './metrics.js';
import { checkRange } from './options.js';

export interface PingPongClientOptions {
  host: string;
  port: number;
  log: string;
  connections: number;
  duration: number;
  requests: number;
  stats: string | undefined;
  seed: number | undefined;
  timeScale: number;
  markers: MarkerSetName;
  intervalMin: number;
  intervalMax: number;
  timeout: number;
}

/** Reconnect backoff: first wait, doubling up to the most (both times --time-scale, never under the floor). */
export const RECONNECT_MIN_MS = 100;
export const RECONNECT_MAX_MS = 5000;
const RECONNECT_FLOOR_MS = 5;
/** A connection attempt that has not completed by then is abandoned and retried. */
export const CONNECT_TIMEOUT_MS = 5000;
/** Round-trip samples kept for the stats file; beyond it only counts grow. */
const MAX_RTT_SAMPLES = 1_000_000;
/** Connections opened per event-loop turn when a load client starts many, so the server's backlog is not flooded. */
const CONNECT_BATCH = 200;
/**
 * Every connection of a process reads into this one buffer (net's `onread`): no Buffer per read and
 * no stream machinery between the socket and the line decoder, which with 10,000 connections
 * receiving a keepalive at once is most of a load client's user-space cost. Safe to share: reads
 * happen one at a time on this thread and the decoder copies what it keeps before the next one.
 */
const READ_BUFFER_BYTES = 64 * 1024;

/** What one client process counted; written by --stats and read by the orchestrator and the bench. */
export interface ClientStats {
  connections: number;
  requests: number;
  answered: number;
  timeouts: number;
  late: number;
  unexpected: number;
  badLines: number;
  keepalives: number;
  connects: number;
  reconnects: number;
  rttMs: LatencySummary;
  /** Keepalive k -> epoch ms at which each connection read it. */
  keepaliveArrivals: Record<string, number[]>;
}

class Tally {
  requests = 0;
  answered = 0;
  timeouts = 0;
  late = 0;
  unexpected = 0;
  badLines = 0;
  keepalives = 0;
  connects = 0;
  reconnects = 0;
  rtts: number[] = [];
  arrivals = new Map<number, number[]>();
}

interface Shared {
  readBuffer: Buffer;
  options: PingPongClientOptions;
  logger: Logger;
  metrics: ClientMetrics;
  tally: Tally;
  scale: number;
}

/**
 * One client: a connection kept up with backoff, the PING schedule while it is up, and the
 * protocol state (counter, pending requests, log) that outlives any one socket.
 */
class ClientConnection {
  private socket: Socket | undefined;
  private sendTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private backoffMs: number;
  private stopping = false;
  private everConnected = false;
  private outageReported = false;
  readonly core: PingPongClientCore;
  /** Resolves when --requests are all sent and settled. */
  readonly finished: Promise<void>;
  private finish!: () => void;

  constructor(
    readonly index: number,
    private readonly random: Random,
    private readonly log: EventLog,
    private readonly shared: Shared,
  ) {
    const { metrics, tally, logger, options, scale } = shared;
    this.backoffMs = this.minBackoff();
    this.finished = new Promise((resolve) => (this.finish = resolve));
    this.core = new PingPongClientCore(
      { timeoutMs: options.timeout * scale, markers: MARKER_SETS[options.markers] },
      log,
      {
        sent: () => {
          tally.requests++;
          metrics.requests.inc();
        },
        answered: (_n, rttMs) => {
          tally.answered++;
          if (tally.rtts.length < MAX_RTT_SAMPLES) tally.rtts.push(rttMs);
          metrics.answered.inc();
          metrics.rtt.observe(rttMs / 1000);
          this.checkFinished();
        },
        timeout: () => {
          tally.timeouts++;
          metrics.timeouts.inc();
          this.checkFinished();
        },
        late: (n, text, lateByMs) => {
          tally.late++;
          metrics.late.inc();
          logger.warn({ client: this.index, n, line: text, lateByMs: Math.round(lateByMs) }, `late answer to request ${n}: "${text}" came ${Math.round(lateByMs)} ms after its timeout`);
        },
        keepalive: (k, atMs) => {
          tally.keepalives++;
          metrics.keepalives.inc();
          let list = tally.arrivals.get(k);
          if (!list) tally.arrivals.set(k, (list = []));
          list.push(atMs);
        },
        badLine: (reason, text) => {
          if (reason === 'unexpected') tally.unexpected++;
          else tally.badLines++;
          metrics.badLines.inc({ reason });
          logger.warn({ client: this.index, reason, line: text.slice(0, 200) }, `bad line from the server (${reason})`);
        },
      },
      epochNow,
    );
  }

  private minBackoff(): number {
    return Math.max(RECONNECT_FLOOR_MS, RECONNECT_MIN_MS * this.shared.scale);
  }

  start(): void {
    if (this.stopping) return;
    const { options, logger } = this.shared;
    const decoder = new LineDecoder();
    const onread = (nread: number, buffer: Uint8Array): boolean => {
      for (const event of decoder.push(buffer, nread)) this.core.receive(event);
      return true;
    };
    const socket = connect({ host: options.host, port: options.port, noDelay: true, onread: { buffer: this.shared.readBuffer, callback: onread } });
    this.socket = socket;
    let up = false;
    // A timer of our own rather than socket.setTimeout, which (even once set back to 0) costs a timer refresh on every read.
    const connectTimer = setTimeout(() => socket.destroy(new Error('connect timeout')), CONNECT_TIMEOUT_MS).unref();
    socket.once('connect', () => {
      clearTimeout(connectTimer);
      up = true;
      this.shared.tally.connects++;
      this.shared.metrics.connected.inc();
      if (this.everConnected) {
        this.shared.tally.reconnects++;
        this.shared.metrics.reconnects.inc();
        logger.info({ client: this.index, next: this.core.sent }, 'reconnected; the request counter goes on');
      }
      this.everConnected = true;
      this.outageReported = false;
      this.backoffMs = this.minBackoff();
      this.scheduleSend();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (!this.outageReported && !this.stopping) {
        this.outageReported = true;
        logger.warn({ client: this.index, code: err.code ?? err.message }, `server ${options.host}:${options.port} unreachable (${err.code ?? err.message}); retrying with backoff`);
      }
    });
    socket.on('close', () => {
      clearTimeout(connectTimer);
      if (this.socket === socket) this.socket = undefined;
      clearTimeout(this.sendTimer);
      this.sendTimer = undefined;
      if (up) this.shared.metrics.connected.dec();
      if (this.stopping) return;
      if (up && !this.outageReported) {
        this.outageReported = true;
        logger.warn({ client: this.index }, 'connection closed by the server; reconnecting with backoff');
      }
      const wait = this.backoffMs * (0.5 + Math.random() * 0.5); // jitter off the seeded stream: it must not shift the protocol's numbers
      this.backoffMs = Math.min(this.backoffMs * 2, Math.max(RECONNECT_MAX_MS * this.shared.scale, RECONNECT_FLOOR_MS));
      this.retryTimer = setTimeout(() => this.start(), wait);
    });
  }

  /**
   * The next PING goes out `interval` after this one, answered or not. Measured from the actual send,
   * so a late timer (a busy machine) never makes two PINGs closer than --interval-min.
   */
  private scheduleSend(): void {
    const { options, scale } = this.shared;
    if (this.stopping || (options.requests > 0 && this.core.sent >= options.requests)) return;
    const interval = uniform(this.random, options.intervalMin * scale, options.intervalMax * scale);
    this.sendTimer = setTimeout(() => {
      const socket = this.socket;
      if (!socket || socket.destroyed) return;
      socket.write(this.core.begin() + '\n');
      this.scheduleSend();
    }, interval);
  }

  private checkFinished(): void {
    const { requests } = this.shared.options;
    if (requests > 0 && this.core.sent >= requests && this.core.pendingCount === 0) this.finish();
  }

  /** Stops sending, waits (until `deadline`) for every request to be answered or time out, then closes. */
  async stop(deadline: number): Promise<void> {
    this.stopping = true;
    clearTimeout(this.sendTimer);
    clearTimeout(this.retryTimer);
    await within(this.core.whenSettled(), deadline - Date.now());
    this.core.expireAll();
    const socket = this.socket;
    if (socket && !socket.destroyed) {
      await new Promise<void>((resolve) => {
        socket.once('close', () => resolve());
        socket.end();
        setTimeout(() => socket.destroy(), 500).unref();
      });
    }
    this.log.close();
  }
}

/** Runs --connections clients until --duration, --requests or a signal ends them. */
export async function runPingPongClient(options: PingPongClientOptions, { logger, lifecycle, registry }: Pick<RoleContext, 'logger' | 'lifecycle' | 'registry'>): Promise<number | undefined> {
  checkRange('interval', options.intervalMin, options.intervalMax);
  if (options.connections > 1 && options.log !== '' && !options.log.includes('{i}')) {
    throw new OptionError(`--log: with --connections ${options.connections} the file name must contain {i} (e.g. client{i}.log), or be ''`);
  }
  const seed = options.seed ?? randomSeed();
  const shared: Shared = { readBuffer: Buffer.allocUnsafe(READ_BUFFER_BYTES), options, logger, metrics: clientMetrics(registry), tally: new Tally(), scale: options.timeScale };
  const clients: ClientConnection[] = [];
  for (let i = 0; i < options.connections; i++) {
    const log = options.log === '' ? NO_LOG : openEventLog(options.log.replaceAll('{i}', String(i + 1)));
    // One connection keeps the role's seed as is, so `--seed` means the same with or without --connections.
    const random = mulberry32(options.connections === 1 ? seed : deriveSeed(seed, i));
    clients.push(new ClientConnection(i + 1, random, log, shared));
  }
  logger.info({ host: options.host, port: options.port, connections: options.connections, seed, timeScale: options.timeScale }, `pingpong client: ${options.connections} connection(s) to ${options.host}:${options.port}`);

  let stopped: Promise<void> | undefined;
  const stopAll = (deadline: number) =>
    (stopped ??= (async () => {
      await Promise.all(clients.map((c) => c.stop(deadline)));
      if (options.stats) await writeFile(options.stats, JSON.stringify(statsOf(shared.tally, options.connections)) + '\n');
      const t = shared.tally;
      logger.info({ requests: t.requests, answered: t.answered, timeouts: t.timeouts, late: t.late, keepalives: t.keepalives, reconnects: t.reconnects }, 'pingpong client stopped');
    })());
  lifecycle.onShutdown('pingpong clients', stopAll);

  for (let i = 0; i < clients.length; i += CONNECT_BATCH) {
    for (const client of clients.slice(i, i + CONNECT_BATCH)) client.start();
    if (i + CONNECT_BATCH < clients.length) await new Promise((r) => setImmediate(r));
  }

  const ends: Promise<unknown>[] = [];
  if (options.duration > 0) ends.push(sleep(options.duration * options.timeScale, lifecycle.signal));
  if (options.requests > 0) ends.push(Promise.all(clients.map((c) => c.finished)));
  if (ends.length === 0) return undefined;
  await Promise.race([...ends, new Promise((r) => lifecycle.signal.addEventListener('abort', r, { once: true }))]);
  return EXIT_OK;
}

function statsOf(t: Tally, connections: number): ClientStats {
  return {
    connections,
    requests: t.requests,
    answered: t.answered,
    timeouts: t.timeouts,
    late: t.late,
    unexpected: t.unexpected,
    badLines: t.badLines,
    keepalives: t.keepalives,
    connects: t.connects,
    reconnects: t.reconnects,
    rttMs: summarize(t.rtts),
    keepaliveArrivals: Object.fromEntries(t.arrivals),
  };
}
