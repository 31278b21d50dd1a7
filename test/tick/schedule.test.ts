import { describe, expect, it } from 'vitest';
import { DriftMeter, MAX_CATCH_UP_US, runSchedule, TickSchedule } from '../../src/tick/schedule.js';

/** A deterministic PRNG (mulberry32), so the "late timer" tests do the same thing every run. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('TickSchedule', () => {
  it('keeps 100 s at 100/s to 10,000 ticks although every timer fires up to 3 ms late', () => {
    const random = rng(42);
    const s = new TickSchedule(0, 10_000);
    let now = 0;
    let ticks = 0;
    while (now < 100_000_000) {
      ticks += s.take(now).length;
      // Sleep until the next tick, then oversleep by 0-3 ms (a busy machine).
      now = Math.max(now, s.nextDueUs) + Math.floor(random() * 3000);
    }
    // Ticks due in [0, 100 s): 10,000; the loop may have taken the one due at exactly 100 s.
    expect(Math.abs(ticks - 10_000)).toBeLessThanOrEqual(1);
    expect(s.skipped).toBe(0);
  });

  it('hands out the missed ticks after a short stall, each with its own due time', () => {
    const s = new TickSchedule(1_000, 10_000);
    expect(s.take(1_000)).toEqual([{ seq: 0, dueUs: 1_000 }]);
    expect(s.take(5_000)).toEqual([]);
    expect(s.take(41_500).map((t) => t.seq)).toEqual([1, 2, 3, 4]);
    expect(s.nextDueUs).toBe(51_000);
    expect(s.skipped).toBe(0);
  });

  it('skips, and counts, what is older than MAX_CATCH_UP_US after a long stall', () => {
    const s = new TickSchedule(0, 10_000);
    s.take(0);
    const due = s.take(5_000_000);
    expect(due).toHaveLength(MAX_CATCH_UP_US / 10_000);
    expect(due.at(-1)!.seq).toBe(500);
    expect(s.skipped).toBe(500 - MAX_CATCH_UP_US / 10_000);
    expect(s.position).toBe(501);
  });

  it('handles periods that are not whole microseconds without drift', () => {
    const s = new TickSchedule(0, 1e6 / 3);
    expect(s.dueAt(3)).toBe(1_000_000);
    expect(s.dueAt(3_000_000)).toBe(1_000_000_000_000);
  });

  it('runSchedule fires every due tick on real timers and stops when told', async () => {
    const clock = () => Math.round(performance.now() * 1000);
    const s = new TickSchedule(clock(), 5_000);
    const seqs: number[] = [];
    const runner = runSchedule(s, clock, (t, now) => {
      expect(now).toBeGreaterThanOrEqual(t.dueUs);
      seqs.push(t.seq);
    });
    await new Promise((r) => setTimeout(r, 200));
    runner.stop();
    const count = seqs.length;
    await new Promise((r) => setTimeout(r, 30));
    expect(seqs.length).toBe(count);
    expect(seqs).toEqual(seqs.map((_, i) => i));
    expect(count).toBeGreaterThan(20);
  });

  it('DriftMeter: an absolute schedule with late ticks, even a stall at the very end, has no drift', () => {
    const random = rng(7);
    const s = new TickSchedule(0, 10_000);
    const meter = new DriftMeter(10_000);
    let now = 0;
    while (now < 20_000_000) {
      for (const _ of s.take(now)) meter.record(now);
      now = Math.max(now, s.nextDueUs) + Math.floor(random() * 3000);
    }
    now += 400_000; // a 400 ms stall, then the catch-up burst
    for (const _ of s.take(now)) meter.record(now);
    expect(meter.ticks).toBeGreaterThan(2000);
    expect(Math.abs(meter.driftTicks())).toBeLessThanOrEqual(1);
  });

  it('DriftMeter: a sleep-one-period loop, and skipped ticks, show as negative drift', () => {
    const loop = new DriftMeter(10_000);
    for (let k = 0, now = 0; k < 1000; k++, now += 10_300) loop.record(now);
    expect(loop.driftTicks()).toBeLessThan(-25);
    const skipping = new DriftMeter(10_000);
    for (let k = 0; k < 1000; k++) if (k < 400 || k >= 450) skipping.record(k * 10_000);
    expect(skipping.driftTicks()).toBe(-50);
  });
});
