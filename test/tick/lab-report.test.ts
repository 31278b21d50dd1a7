import { describe, expect, it } from 'vitest';
import { reportPassed } from '../../src/core/experiment-report.js';
import { buildTickLabReport, type BusRun } from '../../src/tick/lab-report.js';
import { busLabels } from '../../src/tick/lab.js';
import type { TickRunResult } from '../../src/tick/tick-app.js';
import { DT_BUCKETS_US } from '../../src/tick/tick-stats.js';

function result(name: string, over: Partial<TickRunResult> = {}): TickRunResult {
  return {
    name,
    peer: name === 'app1' ? 'app2' : 'app1',
    bus: 'nats',
    url: 'nats://127.0.0.1:4222',
    channel: 'c',
    rate: 100,
    startedAt: '2026-01-01T00:00:00.000Z',
    durationSeconds: 10,
    sent: 1000,
    unpublished: 2,
    unpublished_before_connect: 2,
    skipped: 0,
    received: 990,
    lost: 0,
    reordered: 0,
    duplicates: 0,
    restarts: 0,
    disconnects: 0,
    rejected: 0,
    rejected_by_reason: { 'too-large': 0, 'not-json': 0, 'bad-schema': 0, 'bad-time': 0, 'bad-echo': 0, 'wrong-source': 0, 'unknown-boot': 0, 'bad-seq': 0, 'handler-error': 0 },
    subscription_losses: 0,
    dt_us: { count: 990, p50: name === 'app1' ? 600 : 700, p99: 1500, max: 3000 },
    rtt_half_us: { count: 980, p50: 650, p99: 1400, max: 2000 },
    jitter_us: { count: 1000, p50: 3, p99: 400, max: 900 },
    drift_ticks: 0.1,
    dt_buckets_us: [...DT_BUCKETS_US, null].map((le, i) => ({ le, count: i === 6 ? 990 : 0 })),
    ...over,
  };
}
const meta = { startedAt: '2026-01-01T00:00:00.000Z', durationSeconds: 22, rate: 100, files: {} };

describe('tick-lab report', () => {
  it('passes a clean run and reports the worse direction per bus', () => {
    const runs: BusRun[] = [{ label: 'nats', url: 'nats://x', status: 'ran', app1: result('app1'), app2: result('app2') }];
    const report = buildTickLabReport(runs, meta);
    expect(report.experiment).toBe('tick');
    expect(report.checks.map((c) => c.name)).toEqual(['nats: both directions received', 'nats: no loss in steady state', 'nats: schedule drift within ±1 tick', 'nats: no rejected messages']);
    expect(reportPassed(report)).toBe(true);
    expect(report.headline).toMatchObject({ nats_status: 'ran', nats_dt_p50_us: 700, nats_dt_p99_us: 1500, nats_rtt_half_p50_us: 650, nats_lost: 0, nats_rejected: 0 });
    const series = report.series!.nats_dt_us!;
    expect(series[0]).toEqual({ x: '<=100', y: 0 });
    expect(series.find((p) => p.x === '<=700')).toEqual({ x: '<=700', y: 1980 });
    expect(series.at(-1)!.x).toBe('>100000');
  });

  it('fails on one-way silence, on loss or outage ticks after connecting, and on drift', () => {
    const cases: [Partial<TickRunResult>, string][] = [
      [{ received: 0 }, 'nats: both directions received'],
      [{ lost: 3 }, 'nats: no loss in steady state'],
      [{ unpublished: 5 }, 'nats: no loss in steady state'],
      [{ drift_ticks: -1.6 }, 'nats: schedule drift within ±1 tick'],
      [{ rejected: 2 }, 'nats: no rejected messages'],
    ];
    for (const [over, failing] of cases) {
      const report = buildTickLabReport([{ label: 'nats', url: 'nats://x', status: 'ran', app1: result('app1'), app2: result('app2', over) }], meta);
      expect(report.checks.filter((c) => !c.pass).map((c) => c.name)).toEqual([failing]);
    }
  });

  it('marks a bus without a broker as skipped: pass=true, detail says how to start one', () => {
    const runs: BusRun[] = [{ label: 'amqp', url: 'amqp://x', status: 'skipped', reason: 'no broker at amqp://x (ECONNREFUSED); start one with `docker run ...`' }];
    const report = buildTickLabReport(runs, meta);
    expect(report.checks).toHaveLength(4);
    for (const check of report.checks) {
      expect(check.pass).toBe(true);
      expect(check.detail).toMatch(/^skipped: no broker at amqp:\/\/x .*start one with/);
    }
    expect(report.headline.amqp_status).toBe('skipped');
  });

  it('fails a bus whose apps crashed or wrote nothing', () => {
    const report = buildTickLabReport([{ label: 'nats', url: 'nats://x', status: 'ran', app1: result('app1'), error: 'apps exited with codes 1, 0' }], meta);
    expect(report.checks).toEqual([{ name: 'nats: both apps ran and reported', pass: false, detail: 'apps exited with codes 1, 0' }]);
  });

  it('labels buses by kind, numbering repeats', () => {
    expect(busLabels(['nats://a', 'amqp://b', 'nats://c', 'amqps://d'])).toEqual(['nats', 'amqp', 'nats2', 'amqp2']);
  });
});
