import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Server as NetServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { sleep } from './async.js';

/**
 * Requests of one connection handled at once. HTTP/1.1 answers a connection's requests in order, so
 * more would only hold more finished answers in memory while the first is still being written.
 */
export const MAX_REQUESTS_IN_FLIGHT_PER_CONNECTION = 4;
/**
 * Bytes of answers a connection may have queued and unsent before its next request is started: a
 * client that does not read its answers stops getting new ones handled (and, its requests queueing,
 * stops being read), so what it holds is bounded by this plus the answers already in flight.
 */
export const MAX_CONNECTION_WRITE_BACKLOG_BYTES = 1024 * 1024;
/**
 * After SIGTERM, a keep-alive connection with no request open is closed once it has been quiet this
 * long (counted from SIGTERM at the earliest). Closing one at once would reset a request the client
 * sent the same instant (the race every keep-alive close has); a client, or a load balancer's pooled
 * connection, that sends within this gets an answer (503 SHUTTING_DOWN) instead, and retries elsewhere.
 */
export const SHUTDOWN_IDLE_CLOSE_MS = 1000;
/** How long a connection answered with an error (400, 408, 431) is read and discarded before it is destroyed. */
export const CLIENT_ERROR_LINGER_MS = 2000;
const DRAIN_POLL_MS = 20;

type Listener = (req: IncomingMessage, res: ServerResponse) => unknown;

interface Pending {
  req: IncomingMessage;
  res: ServerResponse;
  started: boolean;
}

class Connection {
  /** Requests read whose answer has not ended, in order; the started ones come first. */
  readonly pending: Pending[] = [];
  running = 0;
  idleSince = performance.now();
  /** Reading is held: requests are waiting for their turn, or the connection is being answered an error. */
  holding = false;
  /** The error answer that goes out once the answers to the requests before it have. */
  failure: Buffer | undefined;
  /** The error answer went out: nothing more is handled on this connection. */
  failed = false;
  closed = false;
  constructor(readonly socket: Socket) {}
}

const answer = (status: number, reason: string) => Buffer.from(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\n\r\n`, 'ascii');
const BAD_REQUEST = answer(400, 'Bad Request');
/** Node's own choice of answer for each parser error (lib/_http_server.js socketOnError). */
const CLIENT_ERROR_ANSWERS: Record<string, Buffer> = {
  HPE_HEADER_OVERFLOW: answer(431, 'Request Header Fields Too Large'),
  HPE_CHUNK_EXTENSIONS_OVERFLOW: answer(413, 'Payload Too Large'),
  ERR_HTTP_REQUEST_TIMEOUT: answer(408, 'Request Timeout'),
};

/**
 * Per-connection flow control and graceful close for a node:http server, around its request listener:
 *
 * - Backpressure: at most MAX_REQUESTS_IN_FLIGHT_PER_CONNECTION requests of a connection are handled
 *   at once, and none is started while the connection has over MAX_CONNECTION_WRITE_BACKLOG_BYTES
 *   unsent. Requests read beyond that wait, and the socket is not read while any wait.
 * - Bad input after good: a parse error (garbage after a valid request) is answered after the answers
 *   to the complete requests before it, not instead of them.
 * - Shutdown (`drain`): stop listening, answer every request already read (the last with
 *   `Connection: close`), let the app answer new ones (503), close connections once idle.
 */
export class HttpConnections {
  private readonly connections = new Map<Socket, Connection>();
  private closing = false;

  constructor(
    private readonly server: Server,
    private readonly handle: Listener,
  ) {
    server.on('connection', (socket: Socket) => this.open(socket));
    server.on('request', (req: IncomingMessage, res: ServerResponse) => this.request(req, res));
    server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => this.clientError(err, socket as Socket));
  }

  /** Connections open now. */
  get size(): number {
    return this.connections.size;
  }

  private open(socket: Socket): void {
    const conn = new Connection(socket);
    this.connections.set(socket, conn);
    socket.on('close', () => {
      conn.closed = true;
      conn.pending.length = 0;
      this.connections.delete(socket);
    });
    socket.on('drain', () => this.pump(conn));
    // node:http resumes the socket itself (a request body being read, its own drain): hold it again.
    socket.on('resume', () => {
      if (conn.holding) socket.pause();
    });
  }

  private request(req: IncomingMessage, res: ServerResponse): void {
    const conn = this.connections.get(req.socket as Socket);
    if (!conn) {
      this.handle(req, res);
      return;
    }
    const p: Pending = { req, res, started: false };
    conn.pending.push(p);
    res.once('close', () => this.ended(conn, p));
    this.pump(conn);
  }

  private ended(conn: Connection, p: Pending): void {
    if (conn.closed || conn.failed) return;
    const i = conn.pending.indexOf(p);
    if (i < 0) return;
    conn.pending.splice(i, 1);
    if (p.started) conn.running--;
    if (conn.pending.length === 0) {
      conn.idleSince = performance.now();
      if (conn.failure) {
        this.fail(conn, conn.failure);
        return;
      }
    }
    this.pump(conn);
  }

  /** Starts waiting requests while the connection has room, and reads only while none waits. */
  private pump(conn: Connection): void {
    if (conn.closed || conn.failed) return;
    while (conn.running < conn.pending.length && conn.running < MAX_REQUESTS_IN_FLIGHT_PER_CONNECTION && conn.socket.writableLength <= MAX_CONNECTION_WRITE_BACKLOG_BYTES) {
      const p = conn.pending[conn.running]!;
      p.started = true;
      conn.running++;
      this.handle(p.req, p.res);
      if (conn.closed) return;
    }
    this.hold(conn, conn.running < conn.pending.length || conn.failure !== undefined);
  }

  private hold(conn: Connection, hold: boolean): void {
    if (hold === conn.holding) return;
    conn.holding = hold;
    if (hold) conn.socket.pause();
    else conn.socket.resume();
  }

  private clientError(err: NodeJS.ErrnoException, socket: Socket): void {
    const conn = this.connections.get(socket);
    if (err.code === 'ECONNRESET' || !socket.writable || !conn) {
      socket.destroy();
      return;
    }
    if (conn.failure) return; // the parser reports every later chunk again
    const response = CLIENT_ERROR_ANSWERS[err.code ?? ''] ?? BAD_REQUEST;
    conn.failure = response;
    // Complete requests before the bad bytes are answered first; a request still being received
    // (its body is what failed, or timed out) never will be, so then the error goes out now.
    if (conn.pending.length > 0 && conn.pending.every((p) => p.req.complete)) {
      this.hold(conn, true);
      return;
    }
    this.fail(conn, conn.pending.some((p) => p.res.headersSent) ? undefined : response);
  }

  /** Sends the error answer (unless an answer already began), then reads and drops input until the client closes, for a while. */
  private fail(conn: Connection, response: Buffer | undefined): void {
    const { socket } = conn;
    conn.failed = true;
    conn.pending.length = 0;
    conn.running = 0;
    if (response && socket.writable) socket.end(response);
    else socket.end();
    // Reading on lets the client read the answer: closing with unread input would send a reset,
    // which can discard the answer on its way.
    conn.holding = false;
    socket.resume();
    setTimeout(() => socket.destroy(), CLIENT_ERROR_LINGER_MS).unref();
  }

  /**
   * Graceful close: stops listening (without node:http's closeIdleConnections, which resets a
   * connection whose next request is already on the wire), answers what was read, closes each
   * connection once it is idle for SHUTDOWN_IDLE_CLOSE_MS, and destroys what is left at `deadline`.
   */
  async drain(deadline: number, inFlight: () => number = () => 0): Promise<void> {
    this.closing = true;
    for (const conn of this.connections.values()) {
      const last = conn.pending.at(-1);
      if (last && !last.res.headersSent) last.res.setHeader('connection', 'close');
    }
    const closed = new Promise<void>((resolve) => NetServer.prototype.close.call(this.server, () => resolve()));
    const began = performance.now();
    while (Date.now() < deadline && (this.connections.size > 0 || inFlight() > 0)) {
      const now = performance.now();
      for (const conn of this.connections.values()) {
        if (conn.pending.length === 0 && now - Math.max(conn.idleSince, began) >= SHUTDOWN_IDLE_CLOSE_MS) conn.socket.destroy();
      }
      await sleep(Math.min(DRAIN_POLL_MS, Math.max(0, deadline - Date.now())));
    }
    for (const conn of this.connections.values()) conn.socket.destroy();
    this.server.closeAllConnections();
    await closed;
  }

  get draining(): boolean {
    return this.closing;
  }
}
