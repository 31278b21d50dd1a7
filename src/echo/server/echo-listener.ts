import { createServer, type Server, type Socket } from 'node:net';
import { sleep } from '../../core/async.js';
import { listen } from '../../core/net.js';
import { serveEchoConnection, type ConnectionCounters, type EchoConnectionOptions } from './echo-connection.js';
import { emptyStats, type EchoStats } from './echo-stats.js';

/** How often a closing listener checks whether its connections are gone. */
const CLOSE_POLL_MS = 20;
/**
 * Peers still connected this long before the shutdown deadline are cut off, so the shutdown step
 * itself ends inside the grace period (a peer that never reads would otherwise hold it to the end).
 */
export const CLOSE_MARGIN_MS = 250;

export interface EchoListenerOptions extends EchoConnectionOptions {
  host: string;
  port: number;
  /** SO_REUSEPORT: several listeners (threads) share the port and the kernel spreads connections. */
  reusePort?: boolean;
  /** Connections beyond this many open are closed at once. */
  maxConnections: number;
}

export interface EchoListener {
  readonly server: Server;
  readonly port: number;
  stats(): EchoStats;
  /** Stops accepting, half-closes every connection, and destroys what is still open just before `deadline`. */
  close(deadline: number): Promise<void>;
}

/** One echo server socket with its connections; the loop model runs one, cluster and threads one per worker. */
export async function startEchoListener(options: EchoListenerOptions): Promise<EchoListener> {
  const sockets = new Set<Socket>();
  const counters: ConnectionCounters & { accepted: number; rejected: number } = { accepted: 0, rejected: 0, requests: 0, framingErrors: 0, idleTimeouts: 0 };
  let closedBytesIn = 0;
  let closedBytesOut = 0;

  // Paused, so serveEchoConnection picks the read path before the first read.
  const server = createServer({ allowHalfOpen: false, pauseOnConnect: true }, (socket) => {
    counters.accepted++;
    sockets.add(socket);
    socket.once('close', () => {
      sockets.delete(socket);
      closedBytesIn += socket.bytesRead;
      closedBytesOut += socket.bytesWritten;
    });
    serveEchoConnection(socket, options, counters);
  });
  server.maxConnections = options.maxConnections;
  server.on('drop', () => counters.rejected++);

  const port = await listen(server, { host: options.host, port: options.port, reusePort: options.reusePort });

  return {
    server,
    port,
    stats() {
      const s = emptyStats();
      s.accepted = counters.accepted;
      s.rejected = counters.rejected;
      s.requests = counters.requests;
      s.framingErrors = counters.framingErrors;
      s.idleTimeouts = counters.idleTimeouts;
      s.open = sockets.size;
      s.bytesIn = closedBytesIn;
      s.bytesOut = closedBytesOut;
      for (const socket of sockets) {
        s.bytesIn += socket.bytesRead;
        s.bytesOut += socket.bytesWritten;
        s.bufferedBytes += socket.writableLength;
      }
      return s;
    },
    async close(deadline) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.end();
      while (sockets.size > 0 && Date.now() < deadline - CLOSE_MARGIN_MS) await sleep(CLOSE_POLL_MS);
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
