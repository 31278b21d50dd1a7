import { connect, type Socket } from 'node:net';
import * as hdr from 'hdr-histogram-js';
import { sleep } from '../../core/async.js';
import type { GeneratorResult, OpenCommand, OpenResult } from './generator-protocol.js';
import { buildMessage, stampSequence } from './message.js';

/** Connections being set up at once by one generator, so 10k connects do not overflow the accept queue. */
export const MAX_PARALLEL_CONNECTS = 200;
export const CONNECT_TIMEOUT_MS = 10_000;
/** Tries per connection when the server refuses or the connect times out (a full backlog). */
export const CONNECT_ATTEMPTS = 3;
/** Highest latency the histogram tracks exactly: one minute, in microseconds. */
export const MAX_TRACKED_LATENCY_US = 60_000_000;
/** How often in-flight requests are checked against the request timeout. */
const TIMEOUT_SWEEP_MS = 250;
/**
 * Every connection of a generator process reads into this one buffer (`onread`): no Buffer, no
 * stream machinery and no 'data' event per read. Safe because a read is checked in full before
 * the next one can happen (the handler runs synchronously and keeps nothing).
 */
const READ_BUFFER_BYTES = 64 * 1024;
const READ_BUFFER = Buffer.allocUnsafe(READ_BUFFER_BYTES);

/** Gets the bytes of one read; `buffer` is overwritten by the next read, so they must be used at once. */
export type ReadHandler = (bytes: number, buffer: Buffer) => void;

/** The reads of one connection, into the shared buffer, go to whoever handles them once it is open. */
export class ReadRoute {
  /** Bytes that arrived before anyone handled them: an echo server never speaks first. */
  unsolicited = 0;
  handler: ReadHandler = (bytes) => {
    this.unsolicited += bytes;
  };
  readonly onread = {
    buffer: READ_BUFFER,
    callback: (bytes: number): boolean => {
      this.handler(bytes, READ_BUFFER);
      return true; // keep reading
    },
  };
}

export function newLatencyHistogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: MAX_TRACKED_LATENCY_US, numberOfSignificantValueDigits: 3 });
}

const count = (errors: Record<string, number>, key: string) => (errors[key] = (errors[key] ?? 0) + 1);

/** Opens one TCP connection, retrying a refused or timed-out connect a few times. */
async function openSocket(host: string, port: number, errors: Record<string, number>, route?: ReadRoute): Promise<Socket | undefined> {
  for (let attempt = 1; attempt <= CONNECT_ATTEMPTS; attempt++) {
    const outcome = await new Promise<Socket | string>((resolve) => {
      const socket = connect({ host, port, noDelay: true, ...(route ? { onread: route.onread } : {}) });
      const timer = setTimeout(() => {
        socket.destroy();
        resolve('connect_timeout');
      }, CONNECT_TIMEOUT_MS);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(socket);
      });
      socket.once('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        resolve(err.code ?? 'connect_error');
      });
    });
    if (typeof outcome !== 'string') return outcome;
    if (attempt === CONNECT_ATTEMPTS) count(errors, outcome);
  }
  return undefined;
}

/**
 * Opens `n` connections at most MAX_PARALLEL_CONNECTS at a time. With `routed`, each socket reads
 * into the shared buffer and `routes[i]` says where the reads of `sockets[i]` go (nowhere until set);
 * otherwise they are ordinary streams.
 */
export async function openSockets(host: string, port: number, n: number, routed = false): Promise<{ sockets: Socket[]; routes: ReadRoute[] } & OpenResult> {
  const sockets: Socket[] = [];
  const routes: ReadRoute[] = [];
  const errors: Record<string, number> = {};
  let next = 0;
  const lane = async () => {
    while (next < n) {
      next++;
      const route = routed ? new ReadRoute() : undefined;
      const socket = await openSocket(host, port, errors, route);
      if (!socket) continue;
      sockets.push(socket);
      if (route) routes.push(route);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, MAX_PARALLEL_CONNECTS) }, lane));
  return { sockets, routes, opened: sockets.length, errors };
}

type Phase = 'idle' | 'warmup' | 'measure' | 'drain' | 'done';

/** One connection of the closed loop: send a message, wait for all of its bytes back, repeat. */
class EchoLoop {
  received = 0;
  sentAt = 0;
  inFlight = false;
  alive = true;
  private sequence = 0;

  constructor(
    readonly socket: Socket,
    route: ReadRoute,
    private readonly message: Buffer,
    private readonly owner: ClosedLoopGenerator,
  ) {
    route.handler = (bytes, buffer) => this.onRead(bytes, buffer);
    socket.on('error', (err: NodeJS.ErrnoException) => owner.lost(this, err.code ?? 'socket_error'));
    socket.on('close', () => owner.lost(this, 'closed_by_server'));
  }

  send(): void {
    stampSequence(this.message, ++this.sequence);
    this.received = 0;
    this.inFlight = true;
    this.sentAt = performance.now();
    this.socket.write(this.message);
  }

  private onRead(bytes: number, buffer: Buffer): void {
    const end = this.received + bytes;
    // The message is not touched again until its echo is complete, so comparing in place is safe.
    if (!this.inFlight || end > this.message.length || buffer.compare(this.message, this.received, end, 0, bytes) !== 0) {
      this.owner.mismatch(this);
      return;
    }
    this.received = end;
    if (end === this.message.length) {
      this.inFlight = false;
      this.owner.completed(this, performance.now() - this.sentAt);
    }
  }
}

/**
 * The closed-loop load of one generator process: its share of a cell's connections, each with one
 * request outstanding. Only completions inside the measurement window count; errors count always.
 */
export class ClosedLoopGenerator {
  private loops: EchoLoop[] = [];
  private phase: Phase = 'idle';
  private readonly histogram = newLatencyHistogram();
  private requests = 0;
  private mismatches = 0;
  private errors: Record<string, number> = {};
  private onDrained: (() => void) | undefined;

  constructor(private readonly requestTimeoutMs: number) {}

  async open(cmd: OpenCommand): Promise<OpenResult> {
    const { sockets, routes, opened, errors } = await openSockets(cmd.host, cmd.port, cmd.connections, true);
    this.errors = { ...errors };
    this.loops = sockets.map((s, i) => new EchoLoop(s, routes[i]!, buildMessage(cmd.size, cmd.seed * 100_003 + i + 1), this));
    // Bytes before the first request cannot be an echo of it.
    for (const [i, loop] of this.loops.entries()) if (routes[i]!.unsolicited > 0) this.mismatch(loop);
    return { opened, errors };
  }

  async run(warmupMs: number, durationMs: number): Promise<GeneratorResult> {
    const sweep = setInterval(() => this.sweepTimeouts(), Math.min(TIMEOUT_SWEEP_MS, this.requestTimeoutMs));
    this.phase = 'warmup';
    for (const loop of this.loops) if (loop.alive) loop.send();
    await sleep(warmupMs);
    this.histogram.reset();
    this.requests = 0;
    const cpuStart = process.cpuUsage();
    const start = performance.now();
    this.phase = 'measure';
    await sleep(durationMs);
    this.phase = 'drain';
    const elapsedSeconds = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpuStart);
    // In-flight requests finish (they are not counted) so the next cell starts on a quiet server.
    if (this.loops.some((l) => l.alive && l.inFlight)) await new Promise<void>((resolve) => (this.onDrained = resolve));
    clearInterval(sweep);
    this.phase = 'done';
    for (const loop of this.loops) loop.socket.destroy();
    const result: GeneratorResult = {
      requests: this.requests,
      histogram: hdr.encodeIntoCompressedBase64(this.histogram),
      errors: this.errors,
      mismatches: this.mismatches,
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      elapsedSeconds,
      connections: this.loops.length,
    };
    this.loops = [];
    this.mismatches = 0;
    this.phase = 'idle';
    return result;
  }

  completed(loop: EchoLoop, latencyMs: number): void {
    if (this.phase === 'measure') {
      this.requests++;
      this.histogram.recordValue(Math.max(1, Math.round(latencyMs * 1000)));
    }
    if (this.phase === 'warmup' || this.phase === 'measure') loop.send();
    else this.checkDrained();
  }

  mismatch(loop: EchoLoop): void {
    this.mismatches++;
    this.retire(loop);
  }

  lost(loop: EchoLoop, reason: string): void {
    if (!loop.alive || this.phase === 'done' || this.phase === 'idle') return;
    count(this.errors, reason);
    this.retire(loop);
  }

  private retire(loop: EchoLoop): void {
    loop.alive = false;
    loop.inFlight = false;
    loop.socket.destroy();
    this.checkDrained();
  }

  private checkDrained(): void {
    if (this.phase === 'drain' && !this.loops.some((l) => l.alive && l.inFlight)) this.onDrained?.();
  }

  private sweepTimeouts(): void {
    const now = performance.now();
    for (const loop of this.loops) {
      if (loop.alive && loop.inFlight && now - loop.sentAt > this.requestTimeoutMs) {
        count(this.errors, 'timeout');
        this.retire(loop);
      }
    }
  }
}
