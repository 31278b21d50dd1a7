/**
 * What the two halves of echo share on the wire: the bench's message framing, so a server started
 * with `--framed` can count requests without changing what it echoes. Every message of 4 bytes or
 * more starts with its own total length (header included) as a big-endian u32. The bench writes
 * the header (bench/message.ts), the server counts frames (server/echo-connection.ts). The parser
 * takes bytes and emits events; it never touches a socket.
 */

export const FRAME_HEADER_BYTES = 4;
/** The largest message the lab sends (1 MiB); a longer header means the stream is not framed. */
export const MAX_FRAME_BYTES = 1024 * 1024;

export type FrameEvent =
  | { type: 'frame'; length: number }
  | { type: 'invalid'; length: number; reason: string };

/** Writes the frame header of a `length`-byte message into its first 4 bytes. */
export function writeFrameHeader(message: Buffer): void {
  if (message.length < FRAME_HEADER_BYTES) throw new RangeError(`a framed message needs at least ${FRAME_HEADER_BYTES} bytes`);
  message.writeUInt32BE(message.length, 0);
}

/**
 * Follows frame boundaries across arbitrary chunking. After one invalid header it stops (the
 * stream is not framed, or lost sync) and stays silent: counting is best-effort, echoing is not.
 */
export class FrameCounter {
  private header = 0;
  private headerBytes = 0;
  /** Bytes of the current frame still to come; 0 between frames. */
  private remaining = 0;
  private current = 0;
  private broken = false;

  get stopped(): boolean {
    return this.broken;
  }

  push(chunk: Uint8Array, emit: (event: FrameEvent) => void): void {
    if (this.broken) return;
    let i = 0;
    while (i < chunk.length) {
      if (this.remaining === 0) {
        while (this.headerBytes < FRAME_HEADER_BYTES && i < chunk.length) {
          this.header = this.header * 256 + chunk[i++]!;
          this.headerBytes++;
        }
        if (this.headerBytes < FRAME_HEADER_BYTES) return;
        const length = this.header;
        this.header = 0;
        this.headerBytes = 0;
        if (length < FRAME_HEADER_BYTES || length > MAX_FRAME_BYTES) {
          this.broken = true;
          emit({ type: 'invalid', length, reason: `frame length ${length} outside ${FRAME_HEADER_BYTES}..${MAX_FRAME_BYTES}` });
          return;
        }
        this.current = length;
        this.remaining = length - FRAME_HEADER_BYTES;
        if (this.remaining === 0) {
          emit({ type: 'frame', length });
          continue;
        }
      }
      const take = Math.min(this.remaining, chunk.length - i);
      i += take;
      this.remaining -= take;
      if (this.remaining === 0) emit({ type: 'frame', length: this.current });
    }
  }
}
