import { describe, expect, it } from 'vitest';
import { FrameCounter, MAX_FRAME_BYTES, type FrameEvent } from '../../src/echo/frame-counter.js';
import { buildMessage, stampSequence } from '../../src/echo/message.js';

function feed(chunks: Uint8Array[]): FrameEvent[] {
  const counter = new FrameCounter();
  const events: FrameEvent[] = [];
  for (const c of chunks) counter.push(c, (e) => events.push(e));
  return events;
}

function header(length: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(length);
  return b;
}

describe('FrameCounter', () => {
  it('counts whole frames in one chunk, including a header-only frame', () => {
    const stream = Buffer.concat([buildMessage(64, 1), buildMessage(4, 2), buildMessage(1000, 3)]);
    expect(feed([stream])).toEqual([
      { type: 'frame', length: 64 },
      { type: 'frame', length: 4 },
      { type: 'frame', length: 1000 },
    ]);
  });

  it('follows frames split at every byte, headers included', () => {
    const stream = Buffer.concat([buildMessage(9, 1), buildMessage(70_000, 2), buildMessage(5, 3)]);
    const bytes = [...stream].map((b) => Uint8Array.of(b));
    expect(feed(bytes).map((e) => e.type === 'frame' && e.length)).toEqual([9, 70_000, 5]);
  });

  it('emits nothing for an incomplete frame until its last byte arrives', () => {
    const message = buildMessage(100, 4);
    const counter = new FrameCounter();
    const events: FrameEvent[] = [];
    counter.push(message.subarray(0, 99), (e) => events.push(e));
    expect(events).toEqual([]);
    counter.push(message.subarray(99), (e) => events.push(e));
    expect(events).toEqual([{ type: 'frame', length: 100 }]);
  });

  it('gives up once on a header that cannot be a frame, and stays silent after', () => {
    const events = feed([header(2), buildMessage(64, 1), header(MAX_FRAME_BYTES + 1)]);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'invalid', length: 2 });
    expect(feed([buildMessage(8, 1), header(MAX_FRAME_BYTES + 1)])).toEqual([
      { type: 'frame', length: 8 },
      expect.objectContaining({ type: 'invalid', length: MAX_FRAME_BYTES + 1 }),
    ]);
  });

  it('accepts the largest frame the bench sends (1 MiB)', () => {
    expect(feed([buildMessage(MAX_FRAME_BYTES, 9)])).toEqual([{ type: 'frame', length: MAX_FRAME_BYTES }]);
  });
});

describe('bench messages', () => {
  it('are deterministic per seed, differ between seeds, and carry their own length', () => {
    expect(buildMessage(256, 5).equals(buildMessage(256, 5))).toBe(true);
    expect(buildMessage(256, 5).equals(buildMessage(256, 6))).toBe(false);
    expect(buildMessage(256, 5).readUInt32BE(0)).toBe(256);
    expect(buildMessage(3, 5)).toHaveLength(3);
  });

  it('change with the sequence stamp so a stale echo is caught', () => {
    const m = buildMessage(64, 5);
    stampSequence(m, 1);
    const first = Buffer.from(m);
    stampSequence(m, 2);
    expect(m.equals(first)).toBe(false);
    expect(m.readUInt32BE(0)).toBe(64);
  });

  it('reject sizes outside 1 byte..1 MiB', () => {
    expect(() => buildMessage(0, 1)).toThrow(RangeError);
    expect(() => buildMessage(MAX_FRAME_BYTES + 1, 1)).toThrow(RangeError);
  });
});
