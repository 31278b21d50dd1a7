import { Socket } from 'node:net';
import { FrameCounter, type FrameEvent } from '../wire.js';

/** TCP keepalive probes start after this much silence, so a vanished peer is noticed by the kernel. */
export const KEEPALIVE_INITIAL_DELAY_MS = 30_000;

export interface EchoConnectionOptions {
  /** Close a connection when nothing was read or written for this long; 0 never. */
  idleTimeoutMs: number;
  /** Count the bench's length-prefixed frames as requests. */
  framed: boolean;
  /**
   * How bytes are read: `shared-buffer` (the default where this Node allows it) reads every
   * connection of the thread into one buffer, see `sharedReadBuffer`; `stream` uses 'data' events.
   */
  readPath?: ReadPath;
}

export type ReadPath = 'shared-buffer' | 'stream';

export interface ConnectionCounters {
  requests: number;
  framingErrors: number;
  idleTimeouts: number;
}

/** Size of the shared read buffer: one read takes at most this much (libuv's own read size). */
export const READ_BUFFER_BYTES = 64 * 1024;

/** Where a socket made with net.connect's `onread` option keeps its buffer and callback. */
interface OnreadSlots {
  buffer: symbol;
  callback: symbol;
}

/**
 * Node gives accepted sockets no `onread` option, only client sockets (net.connect). The slots
 * it uses for it are found here by value on a client socket built with the public option; with
 * the TCP handle's `useUserBuffer` (what net.connect itself calls) an accepted socket then reads
 * the same way. When this Node does not look like that, the answer is undefined and connections
 * use 'data' events.
 */
function findOnreadSlots(): OnreadSlots | undefined {
  try {
    const buffer = Buffer.alloc(1);
    const callback = () => true;
    const probe = new Socket({ onread: { buffer, callback } });
    const slots: Partial<OnreadSlots> = {};
    for (const key of Object.getOwnPropertySymbols(probe)) {
      const value = (probe as unknown as Record<symbol, unknown>)[key];
      if (value === buffer) slots.buffer = key;
      else if (value === callback) slots.callback = key;
    }
    probe.destroy();
    return slots.buffer && slots.callback ? (slots as OnreadSlots) : undefined;
  } catch {
    return undefined;
  }
}

const onreadSlots = findOnreadSlots();

/**
 * One buffer per thread that every connection reads into (the kernel copies into it; no 64 KiB
 * allocation, ArrayBuffer, stream push and 'data' event per read). The handler runs synchronously
 * before the next read and copies what it echoes, so a pending write never points into it.
 */
const sharedReadBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);

/** The read path a new connection gets by default here. */
export const DEFAULT_READ_PATH: ReadPath = onreadSlots ? 'shared-buffer' : 'stream';

type UserBufferHandle = { useUserBuffer?: (buffer: Uint8Array) => void };

/** Switches a socket that has not started reading to the shared buffer; false when it cannot. */
function readIntoSharedBuffer(socket: Socket, onRead: (bytes: number) => void): boolean {
  const handle = (socket as unknown as { _handle?: UserBufferHandle })._handle;
  if (!onreadSlots || typeof handle?.useUserBuffer !== 'function') return false;
  const slots = socket as unknown as Record<symbol, unknown>;
  slots[onreadSlots.buffer] = sharedReadBuffer;
  slots[onreadSlots.callback] = (bytes: number) => {
    onRead(bytes);
    return true; // backpressure pauses through socket.pause(), which stops the handle itself
  };
  handle.useUserBuffer(sharedReadBuffer);
  return true;
}

/**
 * Echoes every byte back in order. Backpressure: when the peer stops reading and our write queue
 * passes the socket's high-water mark we stop reading from it until the queue drains, so a peer
 * that never reads costs at most one queue and the kernel buffers, and the others go on being
 * served. A half-closed peer gets the rest of its echo and then our FIN (allowHalfOpen is off).
 *
 * The socket must come paused (the listener's `pauseOnConnect`), so the read path is chosen
 * before the first byte is read.
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
  const echo = (chunk: Buffer) => {
    frames?.push(chunk, onFrame);
    if (!socket.write(chunk)) socket.pause();
  };
  const shared =
    (options.readPath ?? DEFAULT_READ_PATH) === 'shared-buffer' &&
    readIntoSharedBuffer(socket, (bytes) => {
      // A copy: the write may stay queued (slow peer) while the next read reuses the buffer.
      const chunk = Buffer.allocUnsafe(bytes);
      sharedReadBuffer.copy(chunk, 0, 0, bytes);
      echo(chunk);
    });
  if (!shared) socket.on('data', echo);
  socket.on('drain', () => socket.resume());
  // A reset by the peer is routine for an echo server; 'close' follows and does the bookkeeping.
  socket.on('error', () => {});
  socket.resume();
}
