import { describe, expect, it } from 'vitest';
import { LineDecoder, MAX_LINE_BYTES, type LineEvent } from '../../src/pingpong/line-decoder.js';

const feed = (decoder: LineDecoder, ...chunks: string[]): LineEvent[] => chunks.flatMap((c) => decoder.push(Buffer.from(c, 'latin1')));
const lines = (events: LineEvent[]) => events.map((e) => (e.kind === 'line' ? e.text : `<too-long ${e.bytes}>`));

describe('LineDecoder', () => {
  it('splits several lines in one chunk and keeps the unfinished tail', () => {
    const d = new LineDecoder();
    expect(lines(feed(d, '[0] PING\n[1] PING\n[2] PI'))).toEqual(['[0] PING', '[1] PING']);
    expect(d.buffered).toBe(6);
    expect(lines(feed(d, 'NG\n'))).toEqual(['[2] PING']);
    expect(d.buffered).toBe(0);
  });

  it('joins a line split over many chunks, byte by byte', () => {
    const d = new LineDecoder();
    const events = feed(d, ...'[12/3] PONG (1)\n'.split(''));
    expect(lines(events)).toEqual(['[12/3] PONG (1)']);
  });

  it('accepts \\r\\n, also when the chunk ends between \\r and \\n', () => {
    const d = new LineDecoder();
    expect(lines(feed(d, '[0] PING\r\n[1] PING\r', '\n'))).toEqual(['[0] PING', '[1] PING']);
  });

  it('keeps empty lines as lines (the parser judges them)', () => {
    expect(lines(feed(new LineDecoder(), '\n\r\n'))).toEqual(['', '']);
  });

  it(`accepts a line of exactly ${MAX_LINE_BYTES} bytes, with or without \\r`, () => {
    const text = 'x'.repeat(MAX_LINE_BYTES);
    expect(lines(feed(new LineDecoder(), text + '\n'))).toEqual([text]);
    expect(lines(feed(new LineDecoder(), text + '\r\n'))).toEqual([text]);
  });

  it('reports a longer line once, without buffering it, and carries on with the next', () => {
    const d = new LineDecoder();
    const events = feed(d, 'y'.repeat(3000), 'y'.repeat(3000), 'y'.repeat(3000));
    expect(events).toEqual([]);
    expect(d.buffered).toBe(0); // not held in memory
    expect(lines(feed(d, 'yy\n[5] PING\n'))).toEqual(['<too-long 9002>', '[5] PING']);
  });

  it('reports a line one byte over the limit', () => {
    expect(lines(feed(new LineDecoder(), 'z'.repeat(MAX_LINE_BYTES + 1) + '\n'))).toEqual([`<too-long ${MAX_LINE_BYTES + 1}>`]);
  });

  it('does not depend on the caller keeping its buffer', () => {
    const d = new LineDecoder();
    const chunk = Buffer.from('[7] PI');
    d.push(chunk);
    chunk.fill(0x41);
    expect(lines(d.push(Buffer.from('NG\n')))).toEqual(['[7] PING']);
  });

  it('reads only the first `length` bytes of a reused buffer (a load client shares one for every connection)', () => {
    const d = new LineDecoder();
    const shared = Buffer.alloc(64, '[9] keepalive\n[8] keepalive\n', 'latin1'); // stale lines after what was read
    shared.write('[0] keep', 'latin1');
    expect(lines(d.push(shared, 8))).toEqual([]);
    shared.write('alive\n[1] PO', 'latin1');
    expect(lines(d.push(shared, 12))).toEqual(['[0] keepalive']);
    shared.write('NG\r\n', 'latin1');
    expect(lines(d.push(shared, 4))).toEqual(['[1] PONG']);
    expect(d.buffered).toBe(0);
    // A plain Uint8Array works as well as a Buffer.
    expect(lines(d.push(new Uint8Array(Buffer.from('[2] PING\nxx', 'latin1')), 9))).toEqual(['[2] PING']);
  });
});
