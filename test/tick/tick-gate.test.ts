import { describe, expect, it } from 'vitest';
import { MAX_ECHO_AGE_US, type Tick } from '../../src/tick/protocol.js';
import { BOOT_QUIET_MIN_US, MAX_TICK_SKEW_US, SEQ_JUMP_SLACK, TickGate } from '../../src/tick/tick-gate.js';

const NOW = 1_800_000_000_000_000;
const PERIOD = 10_000; // 100/s
const tick = (seq: number, over: Partial<Tick> = {}): Tick => ({ src: 'app2', seq, tUs: NOW + seq * PERIOD, boot: 'b1', ...over });

/** A gate that has followed app2 (boot b1) for seqs 0..9 at 100/s, received as they were sent. */
function following(): TickGate {
  const gate = new TickGate('app2');
  for (let s = 0; s < 10; s++) expect(gate.admit(tick(s), NOW + s * PERIOD)).toBeUndefined();
  return gate;
}
const last = NOW + 9 * PERIOD;

describe('TickGate', () => {
  it('admits the peer\'s stream and learns its period', () => {
    expect(following().peerPeriodUs).toBe(PERIOD);
  });

  it('turns away another source', () => {
    expect(following().admit(tick(10, { src: 'app3' }), last + PERIOD)).toBe('wrong-source');
  });

  it('turns away times too far from the receiver\'s clock, either way (the forged t:0 and t:1e11)', () => {
    const gate = following();
    expect(gate.admit(tick(10, { tUs: 0 }), last + PERIOD)).toBe('bad-time');
    expect(gate.admit(tick(10, { tUs: 1e11 * 1e6 }), last + PERIOD)).toBe('bad-time');
    expect(gate.admit(tick(10, { tUs: last + PERIOD - MAX_TICK_SKEW_US - 1 }), last + PERIOD)).toBe('bad-time');
    expect(gate.admit(tick(10, { tUs: last + PERIOD + MAX_TICK_SKEW_US + 1 }), last + PERIOD)).toBe('bad-time');
    // A large but possible clock offset still counts: dt shows it.
    expect(gate.admit(tick(10, { tUs: last + PERIOD - 60_000_000 }), last + PERIOD)).toBeUndefined();
  });

  it('turns away an echo no sender would write', () => {
    const gate = following();
    const now = last + PERIOD;
    expect(gate.admit(tick(10, { echo: { seq: 1, tUs: now - 1000, ageUs: MAX_ECHO_AGE_US + 1 } }), now)).toBe('bad-echo');
    expect(gate.admit(tick(10, { echo: { seq: 1, tUs: now + 1, ageUs: 10 } }), now)).toBe('bad-echo');
    expect(gate.admit(tick(10, { echo: { seq: 1, tUs: now - MAX_TICK_SKEW_US - 1, ageUs: 10 } }), now)).toBe('bad-echo');
    expect(gate.admit(tick(10, { echo: { seq: 1, tUs: now - 2000, ageUs: 500 } }), now)).toBeUndefined();
  });

  it('turns away another boot while the current one is alive, and takes it for a restart once it went quiet', () => {
    const gate = following();
    expect(gate.admit(tick(0, { boot: 'forged' }), last + PERIOD)).toBe('unknown-boot');
    expect(gate.admit(tick(0, { boot: undefined }), last + PERIOD)).toBe('unknown-boot');
    // The real stream goes on, untouched by the forged ones.
    expect(gate.admit(tick(10), last + PERIOD)).toBeUndefined();
    const quietFrom = last + PERIOD;
    expect(gate.admit(tick(0, { boot: 'b2', tUs: quietFrom + BOOT_QUIET_MIN_US - 1 }), quietFrom + BOOT_QUIET_MIN_US - 1)).toBe('unknown-boot');
    expect(gate.admit(tick(0, { boot: 'b2', tUs: quietFrom + BOOT_QUIET_MIN_US }), quietFrom + BOOT_QUIET_MIN_US)).toBeUndefined();
    // Now the old boot is the stranger.
    expect(gate.admit(tick(11), quietFrom + BOOT_QUIET_MIN_US + PERIOD)).toBe('unknown-boot');
  });

  it('waits longer for a slow peer to go quiet (three of its periods)', () => {
    const gate = new TickGate('app2');
    const slow = 1_000_000; // 1/s
    for (let s = 0; s < 3; s++) gate.admit(tick(s, { tUs: NOW + s * slow }), NOW + s * slow);
    expect(gate.bootQuietUs).toBe(3 * slow);
    expect(gate.admit(tick(0, { boot: 'b2', tUs: NOW + 2 * slow + 2 * slow }), NOW + 2 * slow + 2 * slow)).toBe('unknown-boot');
  });

  it('turns away a seq that leaps further than the time since the last tick explains', () => {
    const gate = following();
    const now = last + PERIOD;
    expect(gate.admit(tick(3, { seq: 1e15 }), now)).toBe('bad-seq');
    // 10 ms since the last: 2 periods' worth of allowance on top of the slack.
    expect(gate.admit(tick(9 + SEQ_JUMP_SLACK + 3), now)).toBe('bad-seq');
    expect(gate.admit(tick(9 + SEQ_JUMP_SLACK + 2), now)).toBeUndefined();
    // After a 10 s outage a jump of ~1000 seqs is what a 100/s peer produced meanwhile.
    const later = now + 10_000_000;
    expect(gate.admit(tick(9 + SEQ_JUMP_SLACK + 2 + 1000), later)).toBeUndefined();
    // Going back is never a leap (reordered or duplicate: the SeqTracker sorts those out).
    expect(gate.admit(tick(5), later)).toBeUndefined();
  });

  it('takes any first tick, whatever its seq', () => {
    expect(new TickGate('app2').admit(tick(123_456_789, { tUs: NOW }), NOW)).toBeUndefined();
  });
});
