import { createServer, type Socket } from 'node:net';
import { within } from '../core/async.js';
import type { Logger } from '../core/logger.js';
import { listen, writeToSocket } from '../core/net.js';
import { LineDecoder } from './line-decoder.js';
import type { ClientSession, DropReason, Peer, PingPongServerCore } from './server-core.js';

/** Room left in the grace period for closing sockets after the last answers went out. */
const CLOSE_RESERVE_MS = 200;
/** How long closing connections may take to say goodbye before they are cut. */
const END_TIMEOUT_MS = 1000;

export interface TransportOptions {
  host: string;
  port: number;
  /** SO_REUSEPORT: the threads of one server each listen on the port and the kernel spreads connections. */
  reusePort?: boolean;
  maxWriteBuffer: number;
}

/** What the transport reports beyond the protocol state: console lines and connection metrics. */
export interface TransportEvents {
  /** The exercise's console lines ("Client 1 connected: ..."). */
  say(line: string): void;
  connected?(session: ClientSession): void;
  disconnected?(session: ClientSession): void;
  dropped?(session: ClientSession, reason: DropReason): void;
}

export interface PingPongListener {
  port: number;
  /** Stops accepting and reading, lets the answers already decided on go out (until `deadline`), closes. */
  close(deadline: number): Promise<void>;
}

/** The exercise prints a Python tuple; we print the same so the console reads the same. */
const peerName = (socket: Socket): string => `('${socket.remoteAddress ?? '?'}', ${socket.remotePort ?? 0})`;

/**
 * The TCP transport of the ping-pong server: sockets in, lines to the protocol state, lines out
 * with a bound on what may queue per client. One per thread of the server.
 */
export async function listenPingPong(core: PingPongServerCore, options: TransportOptions, logger: Logger, events: TransportEvents): Promise<PingPongListener> {
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
      events.dropped?.(session, reason);
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
      write: (data) => writeToSocket(socket, data),
      pauseReading: () => socket.pause(),
      resumeReading: () => {
        if (!closing) socket.resume();
      },
      close: drop,
    };
    const session: ClientSession = core.connect(peer);
    events.connected?.(session);
    events.say(`Client ${session.id} connected: ${name}`);
    socket.on('data', (chunk: Buffer) => {
      if (closing || dropped) return; // shutting down (requests not read before now stay unanswered), or dropped
      for (const event of decoder.push(chunk)) core.receive(session, event);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => logger.debug({ client: session.id, code: err.code }, 'client socket error'));
    socket.on('close', () => {
      sockets.delete(socket);
      core.disconnect(session);
      events.disconnected?.(session);
      events.say(`Client ${session.id} disconnected`);
    });
  });

  const port = await listen(server, { host: options.host, port: options.port, reusePort: options.reusePort });
  server.on('error', (err) => logger.error({ err }, 'server error'));

  return {
    port,
    async close(deadline) {
      closing = true;
      server.close();
      core.stopKeepalives();
      for (const socket of sockets) socket.pause();
      const left = deadline - Date.now() - CLOSE_RESERVE_MS;
      await within(core.whenDrained(), left);
      if (core.pendingAnswers > 0) {
        logger.warn({ pending: core.pendingAnswers }, 'grace period over: answers still waiting are dropped');
        core.cancelPending();
      }
      const closed = [...sockets].map((s) => new Promise<void>((resolve) => (s.destroyed ? resolve() : s.once('close', () => resolve()))));
      for (const socket of sockets) socket.resume().end(); // resume: the peer's FIN must be read for the socket to close
      await within(Promise.all(closed), Math.min(END_TIMEOUT_MS, deadline - Date.now()));
      for (const socket of sockets) socket.destroy();
    },
  };
}
