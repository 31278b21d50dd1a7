import { writeSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { sleep } from './async.js';

/** Pending-connection queue; Node's 511 overflows when thousands of clients reconnect at once (the kernel caps it at somaxconn). */
export const LISTEN_BACKLOG = 4096;

export interface ListenOptions {
  host: string;
  /** 0: any free port. */
  port: number;
  /** Share the port with other sockets that set it too (SO_REUSEPORT; see probeReusePort). */
  reusePort?: boolean;
  backlog?: number;
}

/**
 * Listens (backlog LISTEN_BACKLOG) and resolves with the port bound; rejects with the listen error
 * (EADDRINUSE, EACCES ...). Every TCP and HTTP server of netlab listens through this.
 */
export function listen(server: Pick<Server, 'listen' | 'once' | 'off' | 'address'>, { host, port, reusePort = false, backlog = LISTEN_BACKLOG }: ListenOptions): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, backlog, reusePort }, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

/** Binds `port` on `host` alone for a moment and gives back the port bound: a taken one (even by a SO_REUSEPORT group) rejects with EADDRINUSE. */
export async function claimPort(host: string, port: number): Promise<number> {
  const server = createServer();
  const bound = await listen(server, { host, port });
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return bound;
}

/** A TCP port on `host` that was free a moment ago. */
export const freePort = (host = '127.0.0.1'): Promise<number> => claimPort(host, 0);

/** Polls `url` until it answers 200; throws after `timeoutMs` naming the last problem. */
export async function waitForHttp(url: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline && !signal?.aborted) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(100, signal);
  }
  throw new Error(`${url} did not become ready within ${timeoutMs} ms (${last})`);
}

/** Sharing one port between threads or processes with SO_REUSEPORT (echo's threads model, pingpong-server --threads). */
export const REUSE_PORT_REQUIREMENT = 'net.Server listen({reusePort}) (Node >= 22.12 or >= 23.1, on Linux)';

export interface ReusePortSupport {
  supported: boolean;
  reason?: string;
}

/**
 * Asks the running Node, not its version number: two sockets try to listen on one port with
 * reusePort. A Node without the option ignores it and the second bind fails with EADDRINUSE.
 */
export async function probeReusePort(): Promise<ReusePortSupport> {
  const first = createServer();
  const second = createServer();
  try {
    const port = await listen(first, { host: '127.0.0.1', port: 0, reusePort: true });
    await listen(second, { host: '127.0.0.1', port, reusePort: true });
    return { supported: true };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    return {
      supported: false,
      reason: `Node ${process.version} on ${process.platform} cannot share a port between threads (${code}); it needs ${REUSE_PORT_REQUIREMENT}`,
    };
  } finally {
    first.close();
    second.close();
  }
}

/** The descriptor under a connected socket (Unix; -1 or absent elsewhere). Node has no public getter. */
const socketFd = (socket: Socket): number => (socket as unknown as { _handle?: { fd?: number } | null })._handle?.fd ?? -1;

/**
 * Writes to a plain TCP or IPC socket, straight to the kernel with one write(2) when nothing is queued on it.
 * The stream path (`socket.write`) allocates a request and runs the Writable bookkeeping for every
 * call, about a tenth of a small send's cost; a fan-out of thousands of short lines (ping-pong
 * keepalives) pays it thousands of times. Order is kept: bytes go straight only while the socket
 * queues nothing (writableLength 0 also means libuv holds nothing), and whatever the kernel does not
 * take at once (a full send buffer, an error) goes through `socket.write`, which queues it and
 * reports errors the usual way. Bytes written straight are not counted in `bytesWritten` and do not
 * refresh a `setTimeout` idle timer. A TLS socket always takes the stream path (its descriptor is the
 * encrypted connection's), as does one that was ended.
 */
export function writeToSocket(socket: Socket, data: string | Buffer): void {
  if (socket.writableLength === 0 && socket.writable && !(socket as { encrypted?: boolean }).encrypted) {
    const fd = socketFd(socket);
    if (fd >= 0) {
      const bytes = typeof data === 'string' ? Buffer.from(data) : data;
      let written = 0;
      try {
        written = writeSync(fd, bytes);
      } catch {
        // EAGAIN (send buffer full), EPIPE, ECONNRESET ...: the stream path queues or reports it.
      }
      if (written === bytes.length) return;
      data = bytes.subarray(written);
    }
  }
  socket.write(data);
}

/** Whether writeToSocket can reach this socket's descriptor here (false: every write takes the stream path). */
export const canWriteDirectly = (socket: Socket): boolean => socketFd(socket) >= 0;
