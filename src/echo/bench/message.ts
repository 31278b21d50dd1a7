import { FRAME_HEADER_BYTES, MAX_FRAME_BYTES, writeFrameHeader } from '../wire.js';

/** The largest message the bench sends (and a framed server counts). */
export const MAX_MESSAGE_BYTES = MAX_FRAME_BYTES;
/** Messages of at least this many bytes carry a sequence number after the frame header. */
const SEQUENCE_OFFSET = FRAME_HEADER_BYTES;
const MIN_SEQUENCED_BYTES = SEQUENCE_OFFSET + 4;

/**
 * A message of `size` bytes: pseudo-random filler from `seed` (xorshift32, so each connection's
 * bytes differ and a mixed-up echo is caught), the frame header when it fits, and room for a
 * per-request sequence number so a stale echo of the previous request is caught too.
 */
export function buildMessage(size: number, seed: number): Buffer {
  if (!Number.isInteger(size) || size < 1 || size > MAX_MESSAGE_BYTES) throw new RangeError(`message size must be 1..${MAX_MESSAGE_BYTES}`);
  const message = Buffer.allocUnsafe(size);
  let x = seed >>> 0 || 0x9e3779b9;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    message[i] = x & 0xff;
  }
  if (size >= FRAME_HEADER_BYTES) writeFrameHeader(message);
  return message;
}

/** Stamps request number `sequence` into the message (no-op for messages too small to hold it). */
export function stampSequence(message: Buffer, sequence: number): void {
  if (message.length >= MIN_SEQUENCED_BYTES) message.writeUInt32BE(sequence >>> 0, SEQUENCE_OFFSET);
}
