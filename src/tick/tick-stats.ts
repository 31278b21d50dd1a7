/**
 * What a tick app measures, in µs: dt of each peer tick (one-way delay including clock offset),
 * RTT/2 from echoed ticks (no clock offset), and its own schedule jitter. `IntervalStats` covers
 * one summary period; `RunStats` the whole run, holding at most MAX_RUN_SAMPLES per series
 * (a uniform reservoir beyond that, so a run of days stays in bounded memory).
 */
import { histogram, percentile } from '../core/latency-stats.js';
import { emptyCounts, type SeqCounts } from './seq-tracker.js';

/** Samples kept per series for the whole run: about 17 minutes at 1000 ticks/s, exactly. */
export const MAX_RUN_SAMPLES = 1_000_000;
/** Upper bounds (µs) of the dt buckets for charts: fine below 10 ms, where the bus floor lives. */
export const DT_BUCKETS_US = [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1250, 1500, 2000, 2500, 3000, 4000, 5000, 7500, 10_000, 25_000, 100_000] as const;

export interface SampleSummary {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

export interface TickSummary extends SeqCounts {
  /** Messages on the peer's key that were not counted as its ticks (TickGate, decodeTick): in no other figure. */
  rejected: number;
  sent: number;
  unpublished: number;
  skipped: number;
  dt: SampleSummary;
  rttHalf: SampleSummary;
  jitter: SampleSummary;
}

export function summarizeSamples(samples: ArrayLike<number>): SampleSummary {
  const sorted = Float64Array.from(samples).sort();
  return {
    count: sorted.length,
    p50: Math.round(percentile(sorted, 50)),
    p99: Math.round(percentile(sorted, 99)),
    max: sorted.length ? Math.round(sorted[sorted.length - 1]!) : 0,
  };
}

/** One summary period: counts and raw samples, reset by `take`. */
export class IntervalStats {
  sent = 0;
  unpublished = 0;
  rejected = 0;
  dt: number[] = [];
  rttHalf: number[] = [];
  jitter: number[] = [];

  take(counts: SeqCounts, skipped: number): TickSummary {
    const out: TickSummary = {
      ...counts,
      rejected: this.rejected,
      sent: this.sent,
      unpublished: this.unpublished,
      skipped,
      dt: summarizeSamples(this.dt),
      rttHalf: summarizeSamples(this.rttHalf),
      jitter: summarizeSamples(this.jitter),
    };
    this.sent = 0;
    this.unpublished = 0;
    this.rejected = 0;
    this.dt = [];
    this.rttHalf = [];
    this.jitter = [];
    return out;
  }
}

/** A bounded sample of a series: exact up to `capacity`, a uniform reservoir sample after. */
export class Reservoir {
  private readonly values: number[] = [];
  seen = 0;

  constructor(
    readonly capacity = MAX_RUN_SAMPLES,
    private readonly random: () => number = Math.random,
  ) {}

  add(v: number): void {
    this.seen++;
    if (this.values.length < this.capacity) this.values.push(v);
    else {
      const i = Math.floor(this.random() * this.seen);
      if (i < this.capacity) this.values[i] = v;
    }
  }

  samples(): readonly number[] {
    return this.values;
  }
}

/** Totals of the whole run. */
export class RunStats {
  counts = emptyCounts();
  sent = 0;
  unpublished = 0;
  rejected = 0;
  readonly dt = new Reservoir();
  readonly rttHalf = new Reservoir();
  readonly jitter = new Reservoir();

  addCounts(c: SeqCounts): void {
    for (const key of Object.keys(c) as (keyof SeqCounts)[]) this.counts[key] += c[key];
  }

  summary(skipped: number): TickSummary {
    return {
      ...this.counts,
      rejected: this.rejected,
      sent: this.sent,
      unpublished: this.unpublished,
      skipped,
      dt: { ...summarizeSamples(this.dt.samples()), count: this.dt.seen },
      rttHalf: { ...summarizeSamples(this.rttHalf.samples()), count: this.rttHalf.seen },
      jitter: { ...summarizeSamples(this.jitter.samples()), count: this.jitter.seen },
    };
  }

  /** dt counts per DT_BUCKETS_US bucket (the last one open), scaled up if the reservoir sampled. */
  dtBuckets(): { le: number | null; count: number }[] {
    const samples = this.dt.samples();
    const scale = samples.length ? this.dt.seen / samples.length : 1;
    return histogram(samples, DT_BUCKETS_US).map((b) => ({ le: b.le, count: Math.round(b.count * scale) }));
  }
}

/**
 * The summary line, logfmt, fields in the order the issue names them, then the extra ones:
 * `summary received=N lost=N reordered=N duplicates=N dt_p50_us=N dt_p99_us=N dt_max_us=N
 * rtt_half_p50_us=N jitter_p99_us=N restarts=N sent=N unpublished=N skipped=N rejected=N`.
 */
export function formatSummary(s: TickSummary): string {
  const fields: [string, number][] = [
    ['received', s.received],
    ['lost', s.lost],
    ['reordered', s.reordered],
    ['duplicates', s.duplicates],
    ['dt_p50_us', s.dt.p50],
    ['dt_p99_us', s.dt.p99],
    ['dt_max_us', s.dt.max],
    ['rtt_half_p50_us', s.rttHalf.p50],
    ['jitter_p99_us', s.jitter.p99],
    ['restarts', s.restarts],
    ['sent', s.sent],
    ['unpublished', s.unpublished],
    ['skipped', s.skipped],
    ['rejected', s.rejected],
  ];
  return `summary ${fields.map(([k, v]) => `${k}=${v}`).join(' ')}`;
}

/** Parses a summary line back into numbers (tests, tick-lab); undefined if it is not one. */
export function parseSummaryLine(line: string): Record<string, number> | undefined {
  if (!line.startsWith('summary ')) return undefined;
  const out: Record<string, number> = {};
  for (const pair of line.slice('summary '.length).trim().split(/\s+/)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) return undefined;
    const v = Number(pair.slice(eq + 1));
    if (!Number.isFinite(v)) return undefined;
    out[pair.slice(0, eq)] = v;
  }
  return out;
}
