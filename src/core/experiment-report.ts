import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * What one experiment run reports to `netlab lab`: the checks it made, a few headline numbers, and
 * the files (JSON, logs, charts) it left behind. Every capability's orchestrating role writes one
 * with `--report FILE`; the lab reads them and never imports the capability itself.
 */
export interface ExperimentReport {
  experiment: string;
  /** When the run started and how long it took. */
  startedAt: string;
  durationSeconds: number;
  checks: ExperimentCheck[];
  /** Short numbers for the summary table, e.g. {"throughput_rps": 5200, "p99_ms": 12.1}. */
  headline: Record<string, number | string>;
  /** Files written by the run, relative to the report's directory or absolute: {"results": "results.json"}. */
  files: Record<string, string>;
  /** Series the lab may chart: name -> points (x, y) or buckets (label, value). */
  series?: Record<string, { x: number | string; y: number }[]>;
  /** Moments worth marking on the numeric series (a crash, an outage), at the series' x (seconds). */
  events?: { at: number; label: string }[];
  /** Set when nothing was measured because something the run needs is missing; says what to do. */
  skipped?: string;
}

export interface ExperimentCheck {
  name: string;
  pass: boolean;
  detail?: string;
}

export const reportPassed = (report: ExperimentReport): boolean => report.checks.length > 0 && report.checks.every((c) => c.pass);

export async function writeExperimentReport(file: string, report: ExperimentReport): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(report, null, 2) + '\n');
}
