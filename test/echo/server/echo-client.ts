import { connect, type Socket } from 'node:net';

/** Connects to 127.0.0.1:port; resolves once connected. */
export function connectTo(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, noDelay: true });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Reads until `bytes` arrived (or the peer closed); resolves with what came. */
export function readBytes(socket: Socket, bytes: number, timeoutMs = 20_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const done = () => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      resolve(Buffer.concat(chunks));
    };
    const onData = (c: Buffer) => {
      chunks.push(c);
      got += c.length;
      if (got >= bytes) done();
    };
    const onClose = () => done();
    const timer = setTimeout(() => reject(new Error(`read ${got}/${bytes} bytes before the timeout`)), timeoutMs);
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.resume();
  });
}

/** Writes `payload` in the given piece sizes, yielding to the event loop between pieces. */
export async function writeInPieces(socket: Socket, payload: Buffer, pieces: number[]): Promise<void> {
  let offset = 0;
  for (const n of pieces) {
    if (offset >= payload.length) break;
    socket.write(payload.subarray(offset, offset + n));
    offset += n;
    await new Promise((r) => setTimeout(r, 1));
  }
  if (offset < payload.length) socket.write(payload.subarray(offset));
}

/** Deterministic pseudo-random bytes (so a failure reproduces). */
export function pattern(size: number, seed = 1): Buffer {
  const b = Buffer.allocUnsafe(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

/** Sizes from 1 byte to 1 MiB, including the edges of the frame header and of a 64 KiB read. */
export const ECHO_SIZES = [1, 2, 3, 4, 5, 63, 64, 1000, 65_535, 65_536, 65_537, 300_000, 1024 * 1024];

/** Piece sizes for split writes: 1-byte dribbles, then odd sizes that straddle reads. */
export const SPLIT_PIECES = [1, 1, 1, 2, 3, 5, 7, 100, 1, 4093, 1, 65_537, 3];

export function waitUntil(check: () => boolean, timeoutMs = 10_000, stepMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (check()) resolve();
      else if (Date.now() > deadline) reject(new Error('condition not met in time'));
      else setTimeout(tick, stepMs);
    };
    tick();
  });
}
