import { createServer, type Socket } from 'node:net';
import { sleep } from '../core/lifecycle.js';
import type { RoleContext } from '../core/role.js';
import { LineDecoder } from './line-decoder.js';
import { openEventLog } from './log-file.js';
import { MARKER_SETS, type MarkerSetName } from './log-format.js';
import { serverMetrics } from './metrics.js';
import { checkRange } from './options.js';
import { mulberry32, randomSeed } from '../core/prng.js';
import { PingPongServerCore, type ClientSession, type DropReason, type Peer } from './server-core.js';

export interface PingPongServerOptions {
  host: string;
  port: number;
  log: string;
  quiet: boolean;
  seed: number | undefined;
  timeScale: number;
  markers: MarkerSetName;
  ignoreProbability: number;
  delayMin: number;
  delayMax: number;
  keepalivePeriod: number;
  maxBadLines: number;
  maxWriteBuffer: number;
  maxPendingAnswers: number;
}

/** The line the server logs once it accepts connections; the orchestrator and the bench wait for it. */
export const LISTENING_MESSAGE = 'pingpong server listening';
/** Room left in the grace period for closing sockets after the last answers went out. */
const CLOSE_RESERVE_MS = 200;
/** How long closing connections may take to say goodbye before they are cut. */
const END_TIMEOUT_MS = 1000;

/** The exercise prints a Python tuple; we print the same so the console reads the same. */
const peerName = (socket: Socket): string => `('${socket.remoteAddress ?? '?'}', ${socket.remotePort ?? 0})`;

/**
 * The TCP transport of the ping-pong server: sockets in, lines to the protocol state, lines out
 * with a bound on what may queue per client. Serves until SIGTERM, then stops accepting and
 * reading, lets the answers already decided on go out, and closes.
 */
export async function startPingPongServer(options: PingPongServerOptions, { logger, lifecycle, registry }: Pick<RoleContext, 'logger' | 'lifecycle' | 'registry'>): Promise<{ port: number; anchorMs: number }> {
  checkRange('delay', options.delayMin, options.delayMax);
  const scale = options.timeScale;
  const seed = options.seed ?? randomSeed();
  const metrics = serverMetrics(registry);
  const log = openEventLog(options.log);
  const say = (line: string) => {
    if (!options.quiet) process.stdout.write(line + '\n');
  };

  const core = new PingPongServerCore(
    {
      ignoreProbability: options.ignoreProbability,
      answerDelayMinMs: options.delayMin * scale,
      answerDelayMaxMs: options.delayMax * scale,
      keepalivePeriodMs: options.keepalivePeriod * scale,
      maxBadLines: options.maxBadLines,
      maxPendingAnswers: options.maxPendingAnswers,
      markers: MARKER_SETS[options.markers],
    },
    mulberry32(seed),
    log,
    {
      request(_session, outcome) {
        metrics.requests.inc({ outcome });
        metrics.counter.set(core.nextK);
      },
      badLine(session, reason, text) {
        metrics.badLines.inc({ reason });
        logger.warn({ client: session.id, reason, line: text.slice(0, 200), badLines: session.badLines }, `bad line from client ${session.id} (${reason})`);
      },
      keepalive(k, recipients, lagMs, broadcastMs) {
        metrics.keepalives.inc();
        metrics.keepaliveMessages.inc(recipients);
        metrics.keepaliveLag.observe(Math.max(0, lagMs) / 1000);
        metrics.keepaliveBroadcast.observe(broadcastMs / 1000);
        metrics.counter.set(core.nextK);
        logger.debug({ k, recipients, lagMs, broadcastMs }, 'keepalive sent');
      },
    },
  );

  let closing = false;
  const sockets = new Set<Socket>();
  const server = createServer({ noDelay: true }, (socket) => {
    if (closing) return void socket.destroy();
    sockets.add(socket);
    const decoder = new LineDecoder();
    const name = peerName(socket);
    let dropped = false;
    const drop = (reason: DropReason) => {
      if (dropped || socket.destroyed) return;
      dropped = true;
      metrics.dropped.inc({ reason });
      logger.warn({ client: session.id, reason, queuedBytes: socket.writableLength }, `dropping client ${session.id} (${reason === 'slow_reader' ? 'it stopped reading' : 'too many bad lines'})`);
      // A client that does not read cannot be said goodbye to: cut it. One that talks nonsense gets a
      // FIN (what it sends from now on is not read), and is cut if it does not close its side in time.
      if (reason === 'slow_reader') socket.destroy();
      else {
        socket.end();
        setTimeout(() => socket.destroy(), END_TIMEOUT_MS).unref();
      }
    };
    const peer: Peer = {
      reserve(bytes) {
        if (socket.destroyed || !socket.writable) return false;
        if (socket.writableLength + bytes > options.maxWriteBuffer) {
          drop('slow_reader');
          return false;
        }
        return true;
      },
      write: (data) => void socket.write(data),
      pauseReading: () => socket.pause(),
      resumeReading: () => {
        if (!closing) socket.resume();
      },
      close: drop,
    };
    const session: ClientSession = core.connect(peer);
    metrics.connections.inc();
    metrics.connected.inc();
    say(`Client ${session.id} connected: ${name}`);
    socket.on('data', (chunk: Buffer) => {
      if (closing || dropped) return; // shutting down (requests not read before now stay unanswered), or dropped
      for (const event of decoder.push(chunk)) core.receive(session, event);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => logger.debug({ client: session.id, code: err.code }, 'client socket error'));
    socket.on('close', () => {
      sockets.delete(socket);
      core.disconnect(session);
      metrics.connected.dec();
      say(`Client ${session.id} disconnected`);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: options.port, host: options.host, backlog: 4096 }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => logger.error({ err: err.message }, 'server error'));
  const port = (server.address() as { port: number }).port;
  const anchorMs = core.startKeepalives();
  logger.info(
    { port, host: options.host, seed, timeScale: scale, keepaliveAnchorMs: anchorMs, keepalivePeriodMs: options.keepalivePeriod * scale, log: options.log || null },
    `${LISTENING_MESSAGE} on ${options.host}:${port}`,
  );

  lifecycle.onShutdown('pingpong server', async (deadline) => {
    closing = true;
    server.close();
    core.stopKeepalives();
    for (const socket of sockets) socket.pause();
    const left = deadline - Date.now() - CLOSE_RESERVE_MS;
    await Promise.race([core.whenDrained(), sleep(Math.max(0, left))]);
    if (core.pendingAnswers > 0) {
      logger.warn({ pending: core.pendingAnswers }, 'grace period over: answers still waiting are dropped');
      core.cancelPending();
    }
    const closed = [...sockets].map((s) => new Promise<void>((resolve) => (s.destroyed ? resolve() : s.once('close', () => resolve()))));
    for (const socket of sockets) socket.resume().end(); // resume: the peer's FIN must be read for the socket to close
    await Promise.race([Promise.all(closed), sleep(Math.min(END_TIMEOUT_MS, Math.max(0, deadline - Date.now())))]);
    for (const socket of sockets) socket.destroy();
    log.close();
    logger.info({ counter: core.nextK }, 'pingpong server stopped');
  });
  return { port, anchorMs };
}
