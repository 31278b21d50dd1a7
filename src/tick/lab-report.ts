/**
 * Turns the results of tick-lab runs (one app1/app2 pair per bus) into an ExperimentReport. Pure.
 *
 * A bus whose broker did not answer is skipped, not failed: its checks carry pass=true and a detail
 * that starts with "skipped:" and says how to start a broker, and its headline has
 * `<bus>_status: "skipped"`. (The lab runs on machines without brokers; CI, which has them, turns
 * skips into failures with NETLAB_REQUIRE_BROKERS=1 / --require-brokers.)
 */
import type { ExperimentCheck, ExperimentReport } from '../core/experiment-report.js';
import type { TickRunResult } from './tick-app.js';

/** The schedule may be off by this many ticks over a whole run (the issue: 10,000 ticks ±1 after 100 s). */
export const MAX_DRIFT_TICKS = 1;

/** Per bus, the checks in the order they are reported (a skipped bus reports each as skipped). */
const CHECKS = ['both directions received', 'no loss in steady state', `schedule drift within ±${MAX_DRIFT_TICKS} tick`, 'no rejected messages'] as const;

/** Rejected messages of a result (0 for results written before netlab counted them). */
const rejectedOf = (r: TickRunResult): number => r.rejected ?? 0;

export type BusRun =
  | { label: string; url: string; status: 'skipped'; reason: string }
  | { label: string; url: string; status: 'ran'; app1?: TickRunResult; app2?: TickRunResult; error?: string };

export interface TickLabSummary {
  startedAt: string;
  durationSeconds: number;
  rate: number;
  files: Record<string, string>;
}

const directionOf = (r: TickRunResult) => `${r.peer}->${r.name}`;

export function bucketLabel(le: number | null, previous: number | undefined): string {
  if (le === null) return `>${previous ?? 0}`;
  return `<=${le}`;
}

/** dt buckets of both directions added up, as chart points (x: bucket label, y: ticks). */
export function combinedBuckets(results: TickRunResult[]): { x: string; y: number }[] {
  const first = results[0];
  if (!first) return [];
  return first.dt_buckets_us.map((b, i) => ({
    x: bucketLabel(b.le, first.dt_buckets_us[i - 1]?.le ?? undefined),
    y: results.reduce((sum, r) => sum + (r.dt_buckets_us[i]?.count ?? 0), 0),
  }));
}

export function buildTickLabReport(runs: BusRun[], summary: TickLabSummary): ExperimentReport {
  const checks: ExperimentCheck[] = [];
  const headline: Record<string, number | string> = { rate_per_second: summary.rate };
  const series: Record<string, { x: number | string; y: number }[]> = {};
  for (const run of runs) {
    const name = (what: string) => `${run.label}: ${what}`;
    if (run.status === 'skipped') {
      const detail = `skipped: ${run.reason}`;
      for (const what of CHECKS) checks.push({ name: name(what), pass: true, detail });
      headline[`${run.label}_status`] = 'skipped';
      continue;
    }
    const apps = [run.app1, run.app2].filter((r): r is TickRunResult => r !== undefined);
    if (run.error || apps.length < 2) {
      checks.push({ name: name('both apps ran and reported'), pass: false, detail: run.error ?? 'an app wrote no results' });
      headline[`${run.label}_status`] = 'failed';
      continue;
    }
    headline[`${run.label}_status`] = 'ran';
    checks.push({
      name: name('both directions received'),
      pass: apps.every((r) => r.received > 0),
      detail: apps.map((r) => `${directionOf(r)} received=${r.received}`).join(', '),
    });
    checks.push({
      name: name('no loss in steady state'),
      // Steady state: from the first connection on (ticks before it had no broker to go to yet).
      pass: apps.every((r) => r.lost === 0 && r.unpublished - r.unpublished_before_connect === 0 && r.skipped === 0),
      detail: apps.map((r) => `${directionOf(r)} lost=${r.lost} reordered=${r.reordered} duplicates=${r.duplicates}; ${r.name} unpublished=${r.unpublished - r.unpublished_before_connect} skipped=${r.skipped}`).join('; '),
    });
    checks.push({
      name: name(`schedule drift within ±${MAX_DRIFT_TICKS} tick`),
      pass: apps.every((r) => Math.abs(r.drift_ticks) <= MAX_DRIFT_TICKS),
      detail: apps.map((r) => `${r.name} sent=${r.sent + r.unpublished} drift=${r.drift_ticks}`).join(', '),
    });
    // On the lab's own random channel nothing else publishes: a rejected message is a forged or
    // broken tick, or a gate that turns real ones away. Either way the figures are not the whole run.
    checks.push({
      name: name('no rejected messages'),
      pass: apps.every((r) => rejectedOf(r) === 0),
      detail: apps.map((r) => `${directionOf(r)} rejected=${rejectedOf(r)}`).join(', '),
    });
    // The worse direction: a headline is a promise about both.
    headline[`${run.label}_dt_p50_us`] = Math.max(...apps.map((r) => r.dt_us.p50));
    headline[`${run.label}_dt_p99_us`] = Math.max(...apps.map((r) => r.dt_us.p99));
    headline[`${run.label}_rtt_half_p50_us`] = Math.max(...apps.map((r) => r.rtt_half_us.p50));
    headline[`${run.label}_jitter_p99_us`] = Math.max(...apps.map((r) => r.jitter_us.p99));
    headline[`${run.label}_lost`] = apps.reduce((s, r) => s + r.lost, 0);
    headline[`${run.label}_rejected`] = apps.reduce((s, r) => s + rejectedOf(r), 0);
    series[`${run.label}_dt_us`] = combinedBuckets(apps);
  }
  return {
    experiment: 'tick',
    startedAt: summary.startedAt,
    durationSeconds: summary.durationSeconds,
    checks,
    headline,
    files: summary.files,
    series,
  };
}
