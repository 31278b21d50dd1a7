import { describe, expect, it } from 'vitest';
import { buildMessage, MAX_MESSAGE_BYTES, stampSequence } from '../../../src/echo/bench/message.js';

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
    expect(() => buildMessage(MAX_MESSAGE_BYTES + 1, 1)).toThrow(RangeError);
  });
});
