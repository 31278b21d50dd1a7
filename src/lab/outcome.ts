import { reportPassed, type ExperimentReport } from '../core/experiment-report.js';

export type OutcomeState = 'PASS' | 'FAIL' | 'SKIPPED' | 'INTERRUPTED';

export interface Outcome {
  state: OutcomeState;
  /** Why it was skipped (SKIPPED), or what part of it was (a bus whose broker did not answer). */
  skips: string[];
}

/** A check that was not run: it passes (nothing failed) but says "skipped: <why and what to do>". */
const SKIP = /^skipped:\s*/;

/**
 * What the lab says of a report: SKIPPED when nothing was measured (the report says so, or every check
 * is a skip), else PASS or FAIL, with the parts that were skipped named either way. A skip never reads
 * as a pass: the screen and the report show SKIPPED with its reason.
 */
export function outcomeOf(report: ExperimentReport, interrupted = false): Outcome {
  const skipped = report.checks.filter((c) => c.pass && c.detail !== undefined && SKIP.test(c.detail));
  const skips = [...new Set(skipped.map((c) => `${partOf(c.name)}${c.detail!.replace(SKIP, '')}`))];
  if (report.skipped) skips.unshift(report.skipped);
  if (interrupted) return { state: 'INTERRUPTED', skips };
  const all = report.skipped !== undefined || (report.checks.length > 0 && skipped.length === report.checks.length);
  if (all) return { state: 'SKIPPED', skips };
  return { state: reportPassed(report) ? 'PASS' : 'FAIL', skips };
}

/** "nats: both directions received" -> "nats: " (checks of one part of a run share a prefix). */
function partOf(checkName: string): string {
  const m = /^([\w-]+):\s/.exec(checkName);
  return m ? `${m[1]}: ` : '';
}

/** Counts only the checks that ran. */
export function checkCounts(report: ExperimentReport): { passed: number; ran: number } {
  const ran = report.checks.filter((c) => !(c.pass && c.detail !== undefined && SKIP.test(c.detail)));
  return { passed: ran.filter((c) => c.pass).length, ran: ran.length };
}
