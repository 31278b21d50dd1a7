import { describe, expect, it } from 'vitest';
import { decodeXid, encodeXid, isXid, newXid, XID_LENGTH, xidParts } from '../../src/dispatch/xid.js';

describe('xid', () => {
  // The example id of github.com/rs/xid, with its documented parts.
  const raw = Buffer.from([0x4d, 0x88, 0xe1, 0x5b, 0x60, 0xf4, 0x86, 0xe4, 0x28, 0x41, 0x2d, 0xc9]);

  it('encodes like rs/xid (base32hex of the 12 bytes)', () => {
    expect(encodeXid(raw)).toBe('9m4e2mr0ui3e8a215n4g');
  });

  it('decodes back and exposes time, machine, pid and counter', () => {
    expect(decodeXid('9m4e2mr0ui3e8a215n4g')).toEqual(raw);
    const parts = xidParts('9m4e2mr0ui3e8a215n4g')!;
    expect(parts.time.getTime() / 1000).toBe(1300816219);
    expect([...parts.machine]).toEqual([0x60, 0xf4, 0x86]);
    expect(parts.pid).toBe(0xe428);
    expect(parts.counter).toBe(4271561);
  });

  it('new ids are 20 characters, carry this second, this pid, and sort in creation order', () => {
    const before = Math.floor(Date.now() / 1000);
    const ids = Array.from({ length: 1000 }, () => newXid());
    for (const id of ids) {
      expect(id).toHaveLength(XID_LENGTH);
      expect(isXid(id)).toBe(true);
    }
    const parts = xidParts(ids[0]!)!;
    expect(parts.time.getTime() / 1000).toBeGreaterThanOrEqual(before);
    expect(parts.pid).toBe(process.pid & 0xffff);
    expect(new Set(ids).size).toBe(ids.length);
    // The counter goes up by exactly 1 from one id to the next (modulo 2^24, its 3 bytes).
    const counters = ids.map((id) => xidParts(id)!.counter);
    for (let i = 1; i < counters.length; i++) expect((counters[i]! - counters[i - 1]! + 2 ** 24) % 2 ** 24, `id ${i}`).toBe(1);
    // So within one second, and away from the wrap to 0, ids sort in creation order; across seconds the time does.
    const wrap = counters.findIndex((c, i) => i > 0 && c < counters[i - 1]!);
    const unwrapped = wrap === -1 ? ids : ids.slice(0, wrap);
    expect([...unwrapped].sort()).toEqual(unwrapped);
    if (wrap !== -1) expect(counters[wrap]).toBe(0);
  });

  it('rejects what is not an xid', () => {
    for (const bad of ['', 'short', '9m4e2mr0ui3e8a215n4', '9m4e2mr0ui3e8a215n4gx', '9M4E2MR0UI3E8A215N4G', '9m4e2mr0ui3e8a215n4w', '9m4e2mr0ui3e8a215n4h']) {
      expect(isXid(bad), bad).toBe(false);
    }
  });
});
