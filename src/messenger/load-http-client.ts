import { connect, type Socket } from 'node:net';

/**
 * A minimal HTTP/1.1 keep-alive client for load generators: one request at a time per connection,
 * bodies framed by Content-Length or chunked encoding. General clients (undici, fetch) spend more
 * CPU per request than the servers they measure here; a load generator must not be the bottleneck.
 */
export interface LoadResponse {
  status: number;
  body: Buffer;
}

export class LoadHttpError extends Error {
  override name = 'LoadHttpError';
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

const CRLF2 = Buffer.from('\r\n\r\n');
/** Response heads larger than this are refused (a load generator talks to known servers). */
export const MAX_HEAD_BYTES = 64 * 1024;

export class LoadHttpConnection {
  private socket: Socket | undefined;
  private buffer: Buffer = Buffer.alloc(0);
  private pending: { resolve(r: LoadResponse): void; reject(e: Error): void; timer: NodeJS.Timeout } | undefined;
  private readonly hostHeader: string;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly timeoutMs: number,
  ) {
    this.hostHeader = `${host}:${port}`;
  }

  static fromUrl(url: string, timeoutMs: number): LoadHttpConnection {
    const u = new URL(url);
    if (u.protocol !== 'http:') throw new LoadHttpError(`only http: URLs are supported, got ${u.protocol}`, 'EPROTO');
    return new LoadHttpConnection(u.hostname, Number(u.port || 80), timeoutMs);
  }

  request(method: string, path: string, contentType: string, body: string): Promise<LoadResponse> {
    if (this.pending) return Promise.reject(new LoadHttpError('connection busy', 'EBUSY'));
    const bytes = Buffer.byteLength(body);
    const head = `${method} ${path} HTTP/1.1\r\nhost: ${this.hostHeader}\r\ncontent-type: ${contentType}\r\ncontent-length: ${bytes}\r\n\r\n`;
    return new Promise<LoadResponse>((resolve, reject) => {
      const timer = setTimeout(() => this.fail(new LoadHttpError(`no response within ${this.timeoutMs} ms`, 'ETIMEDOUT')), this.timeoutMs);
      this.pending = { resolve, reject, timer };
      const socket = this.socket ?? this.open();
      socket.write(head + body);
    });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
  }

  private open(): Socket {
    const socket = connect({ host: this.host, port: this.port, noDelay: true });
    this.socket = socket;
    this.buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err: NodeJS.ErrnoException) => this.fail(new LoadHttpError(err.message, err.code ?? 'ESOCKET')));
    socket.on('close', () => {
      if (this.socket === socket) this.socket = undefined;
      this.fail(new LoadHttpError('connection closed before a response', 'ECONNRESET'));
    });
    return socket;
  }

  private fail(err: LoadHttpError): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    clearTimeout(p.timer);
    this.close();
    p.reject(err);
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const parsed = parseResponse(this.buffer);
    if (parsed === 'incomplete') {
      if (this.buffer.length > MAX_HEAD_BYTES && this.buffer.indexOf(CRLF2) === -1) this.fail(new LoadHttpError('response head too large', 'EPROTO'));
      return;
    }
    if (parsed === 'invalid') return this.fail(new LoadHttpError('malformed HTTP response', 'EPROTO'));
    this.buffer = this.buffer.subarray(parsed.consumed);
    const p = this.pending;
    this.pending = undefined;
    if (parsed.close) this.close();
    if (p) {
      clearTimeout(p.timer);
      p.resolve({ status: parsed.status, body: parsed.body });
    }
  }
}

type Parsed = { status: number; body: Buffer; consumed: number; close: boolean } | 'incomplete' | 'invalid';

/** Parses one HTTP/1.1 response from the start of `buf`. Exported for tests. */
export function parseResponse(buf: Buffer): Parsed {
  const headEnd = buf.indexOf(CRLF2);
  if (headEnd === -1) return 'incomplete';
  const head = buf.toString('latin1', 0, headEnd);
  const match = /^HTTP\/1\.[01] (\d{3})/.exec(head);
  if (!match) return 'invalid';
  const status = Number(match[1]);
  const lower = head.toLowerCase();
  const close = /\r\nconnection:\s*close/.test(lower);
  const start = headEnd + 4;
  const length = /\r\ncontent-length:\s*(\d+)/.exec(lower);
  if (length) {
    const end = start + Number(length[1]);
    if (buf.length < end) return 'incomplete';
    return { status, body: buf.subarray(start, end), consumed: end, close };
  }
  if (/\r\ntransfer-encoding:\s*chunked/.test(lower)) {
    const parts: Buffer[] = [];
    let pos = start;
    for (;;) {
      const lineEnd = buf.indexOf('\r\n', pos);
      if (lineEnd === -1) return 'incomplete';
      const size = parseInt(buf.toString('latin1', pos, lineEnd), 16);
      if (Number.isNaN(size)) return 'invalid';
      const dataStart = lineEnd + 2;
      if (size === 0) {
        // "0\r\n" then optional trailer lines, then an empty line.
        if (buf.length < dataStart + 2) return 'incomplete';
        if (buf[dataStart] === 13 && buf[dataStart + 1] === 10) return { status, body: Buffer.concat(parts), consumed: dataStart + 2, close };
        const trailerEnd = buf.indexOf(CRLF2, dataStart);
        if (trailerEnd === -1) return 'incomplete';
        return { status, body: Buffer.concat(parts), consumed: trailerEnd + 4, close };
      }
      if (buf.length < dataStart + size + 2) return 'incomplete';
      parts.push(buf.subarray(dataStart, dataStart + size));
      pos = dataStart + size + 2;
    }
  }
  if (status === 204 || status === 304 || (status >= 100 && status < 200)) return { status, body: Buffer.alloc(0), consumed: start, close };
  return 'invalid'; // a body delimited by close is not used by netlab's servers
}
