/** Longest line either side accepts, terminator excluded; a longer one is dropped and reported. */
export const MAX_LINE_BYTES = 4096;

const LF = 0x0a;
const CR = 0x0d;

/** What a chunk of bytes turned into: complete lines, or a notice that a line was too long. */
export type LineEvent =
  | { kind: 'line'; text: string }
  /** A line passed MAX_LINE_BYTES; `bytes` is how much of it was dropped (counted once it ends). */
  | { kind: 'too-long'; bytes: number };

/**
 * Splits a byte stream into newline-terminated lines. Chunks may end anywhere (inside a line,
 * between \r and \n); a trailing \r is removed so `\r\n` works like `\n`. A line over
 * MAX_LINE_BYTES is not buffered: its bytes are skipped up to its newline and reported as one
 * `too-long` event, so a peer cannot make us hold more than MAX_LINE_BYTES per connection.
 * Bytes are read as latin1, so any byte sequence gives a string (the protocol is ASCII; checking
 * that is the parser's job).
 */
export class LineDecoder {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Bytes skipped so far of a line that is too long; -1 when not skipping. */
  private skipped = -1;

  constructor(private readonly maxLineBytes = MAX_LINE_BYTES) {}

  /**
   * Feeds one chunk, or its first `length` bytes (a reused read buffer); returns the events it
   * completed, in order. Nothing of `chunk` is kept: it may be overwritten once this returns.
   */
  push(chunk: Uint8Array, length = chunk.length): LineEvent[] {
    const events: LineEvent[] = [];
    let start = 0;
    while (start < length) {
      let nl = chunk.indexOf(LF, start);
      if (nl >= length) nl = -1;
      const end = nl === -1 ? length : nl;
      if (this.skipped >= 0) {
        this.skipped += end - start;
        if (nl !== -1) {
          events.push({ kind: 'too-long', bytes: this.skipped });
          this.skipped = -1;
        }
      } else if (this.pendingBytes + (end - start) > this.maxLineBytes + 1) {
        // +1: the line may still end in \r, which does not count. Anything longer is over.
        this.skipped = this.pendingBytes + (end - start);
        this.pending = [];
        this.pendingBytes = 0;
        if (nl !== -1) {
          events.push({ kind: 'too-long', bytes: this.skipped });
          this.skipped = -1;
        }
      } else if (nl === -1) {
        const part = chunk.subarray(start, end);
        // Copy: the caller may reuse its buffer, and a small copy keeps a big chunk from staying alive.
        this.pending.push(Buffer.from(part));
        this.pendingBytes += part.length;
      } else {
        events.push(this.finishLine(chunk, start, end));
      }
      if (nl === -1) break;
      start = nl + 1;
    }
    return events;
  }

  /** Bytes of an unfinished line held right now. */
  get buffered(): number {
    return this.pendingBytes;
  }

  /** Completes the line held so far with chunk[start, end). */
  private finishLine(chunk: Uint8Array, start: number, end: number): LineEvent {
    let bytes: Buffer;
    if (this.pendingBytes === 0) {
      // The usual case (a whole line in one read): decode straight from the chunk, no copy.
      bytes = chunk instanceof Buffer ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    } else {
      this.pending.push(Buffer.from(chunk.buffer, chunk.byteOffset + start, end - start));
      bytes = Buffer.concat(this.pending);
      this.pending = [];
      this.pendingBytes = 0;
      start = 0;
      end = bytes.length;
    }
    let length = end - start;
    if (length > 0 && bytes[end - 1] === CR) length--;
    if (length > this.maxLineBytes) return { kind: 'too-long', bytes: length };
    return { kind: 'line', text: bytes.toString('latin1', start, start + length) };
  }
}
