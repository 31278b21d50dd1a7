import { describe, expect, it } from 'vitest';
import { emptyCounts } from '../../src/tick/seq-tracker.js';
import { DT_BUCKETS_US, formatSummary, IntervalStats, parseSummaryLine, Reservoir, RunStats } from '../../src/tick/tick-stats.js';

describe('tick stats', () => {
  it('prints the summary line with the fields the issue names, in its order, then the extra ones', () => {
    const stats = new IntervalStats();
    stats.dt.push(900, 700, 1100);
    stats.rttHalf.push(800);
    stats.jitter.push(5, 15);
    stats.sent = 3;
    stats.rejected = 2;
    const line = formatSummary(stats.take({ ...emptyCounts(), received: 3, lost: 1, reordered: 2, duplicates: 4, restarts: 1 }, 0));
    expect(line).toBe('summary received=3 lost=1 reordered=2 duplicates=4 dt_p50_us=900 dt_p99_us=1100 dt_max_us=1100 rtt_half_p50_us=800 jitter_p99_us=15 restarts=1 sent=3 unpublished=0 skipped=0 rejected=2');
    expect(line).toMatch(/^summary received=\d+ lost=\d+ reordered=\d+ duplicates=\d+ dt_p50_us=-?\d+ dt_p99_us=-?\d+ dt_max_us=-?\d+ rtt_half_p50_us=\d+ jitter_p99_us=\d+/);
    expect(parseSummaryLine(line)).toMatchObject({ received: 3, dt_p99_us: 1100, restarts: 1 });
    // take() starts a new interval.
    expect(stats.take(emptyCounts(), 0)).toMatchObject({ sent: 0, dt: { count: 0 } });
  });

  it('parseSummaryLine refuses lines that are not summaries', () => {
    expect(parseSummaryLine('dt=0.001')).toBeUndefined();
    expect(parseSummaryLine('summary received=x')).toBeUndefined();
  });

  it('keeps every sample up to capacity, then a uniform sample of the same size', () => {
    let seed = 1;
    const r = new Reservoir(100, () => ((seed = (seed * 16807) % 2147483647) / 2147483647));
    for (let i = 0; i < 100; i++) r.add(i);
    expect([...r.samples()]).toEqual(Array.from({ length: 100 }, (_, i) => i));
    for (let i = 100; i < 10_000; i++) r.add(i);
    expect(r.samples()).toHaveLength(100);
    expect(r.seen).toBe(10_000);
    const mean = r.samples().reduce((a, b) => a + b, 0) / 100;
    expect(mean).toBeGreaterThan(3000);
    expect(mean).toBeLessThan(7000);
  });

  it('buckets dt for charts, with an open last bucket', () => {
    const run = new RunStats();
    for (const v of [50, 150, 950, 1000, 200_000, -20]) run.dt.add(v);
    const buckets = run.dtBuckets();
    expect(buckets).toHaveLength(DT_BUCKETS_US.length + 1);
    expect(buckets[0]).toEqual({ le: 100, count: 2 });
    expect(buckets.find((b) => b.le === 1000)).toEqual({ le: 1000, count: 2 });
    expect(buckets.at(-1)).toEqual({ le: null, count: 1 });
  });
});
