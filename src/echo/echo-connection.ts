import type { Socket } from 'node:net';
import { FrameCounter, type FrameEvent } from './frame-counter.js';

/** TCP keepalive probes start after this much silence, so a vanished peer is noticed by the kernel. */
export const KEEPALIVE_INITIAL_DELAY_MS = 30_000;

export interface EchoConnectionOptions {
  /** Close a connection when nothing was read or written for this long; 0 never. */
  idleTimeoutMs: number;
  /** Count the bench's length-prefixed frames as requests. */
  framed: boolean;
}

export interface ConnectionCounters {
  requests: number;
  framingErrors: number;
  idleTimeouts: number;
}

/**
 * Echoes every byte back in order. Backpressure: when the peer stops reading and our write queue
 * passes the socket's high-water mark we stop reading from it until the queue drains, so a peer
 * that never reads costs at most one queue and the kernel buffers, and the others go on being
 * served. A half-closed peer gets the rest of its echo and then our FIN (allowHalfOpen is off).
 */
export function serveEchoConnection(socket: Socket, options: EchoConnectionOptions, counters: ConnectionCounters): void {
  socket.setNoDelay(true);
  socket.setKeepAlive(true, KEEPALIVE_INITIAL_DELAY_MS);
  if (options.idleTimeoutMs > 0) {
    socket.setTimeout(options.idleTimeoutMs, () => {
      counters.idleTimeouts++;
      socket.destroy();
    });
  }
  const frames = options.framed ? new FrameCounter() : undefined;
  const onFrame = (event: FrameEvent) => {
    if (event.type === 'frame') counters.requests++;
    else counters.framingErrors++;
  };
  socket.on('data', (chunk: Buffer) => {
    frames?.push(chunk, onFrame);
    if (!socket.write(chunk)) socket.pause();
  });
  socket.on('drain', () => socket.resume());
  // A reset by the peer is routine for an echo server; 'close' follows and does the bookkeeping.
  socket.on('error', () => {});
}
