import { describe, expect, it } from 'vitest';
import { buildMessage } from '../../src/echo/bench/message.js';
import { FrameCounter, MAX_FRAME_BYTES, type FrameEvent } from '../../src/echo/wire.js';

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
