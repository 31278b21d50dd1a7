import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { EXIT_FAILED, EXIT_OK, exitCodeForSignal } from '../core/exit-codes.js';
import type { ExperimentReport } from '../core/experiment-report.js';
import { routeTerminalLogs } from '../core/logger.js';
import type { RoleContext } from '../core/role.js';
import { ChildSet } from './child-processes.js';
import type { ExperimentName } from './experiment.js';
import { EXPERIMENTS } from './experiments.js';
import { LiveStatus } from './live-status.js';
import { outcomeOf } from './outcome.js';
import { entryState, renderReportHtml, summaryText, type ReportEntry } from './report-html.js';
import { createRunDir, takeLabLock } from './run-dir.js';

export interface LabOptions {
  only: ExperimentName[];
  quick: boolean;
  out?: string;
}

/** A path as a user at this shell would type it: relative when it is below the working directory. */
const shown = (path: string) => {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
};

/** Runs the chosen experiments one after another (two cores: side by side they would distort each other). */
export async function runLab(options: LabOptions, { logger, lifecycle }: RoleContext): Promise<number> {
  const dir = options.out ? resolve(options.out) : await createRunDir(resolve('results'));
  if (options.out) await mkdir(dir, { recursive: true });
  const lock = takeLabLock(dir);
  const children = new ChildSet();
  const chosen = EXPERIMENTS.filter((e) => options.only.includes(e.name));
  const entries: ReportEntry[] = chosen.map((e) => ({ name: e.name, title: e.title, dir: e.name }));
  const status = new LiveStatus(
    chosen.map((e) => e.name),
    process.stdout,
    `netlab lab${options.quick ? ' --quick' : ''}: ${chosen.length} experiment${chosen.length === 1 ? '' : 's'}, results in ${shown(dir)}`,
  );
  if (status.isLive) routeTerminalLogs((text) => status.log(text));
  const warnings: string[] = [];
  if (lock.other) {
    const w = `Another netlab lab (pid ${lock.other.pid}, started ${lock.other.startedAt}, writing to ${lock.other.dir}) was running on this machine: the two runs share its cores, so both runs' numbers are skewed.`;
    warnings.push(w);
    logger.warn({ otherPid: lock.other.pid, otherDir: lock.other.dir }, w);
  }
  const startedAt = new Date().toISOString();
  // A signal cut the run short: 128 + the signal's number, as shells report it (130 Ctrl-C, 143 SIGTERM).
  lifecycle.exitCodeAfterSignal = exitCodeForSignal;

  let running: ReportEntry | undefined;
  let finishing: Promise<number> | undefined;
  /** Once: stop the display and every process, write the report of what finished, say where it is. */
  const finish = (signal?: string): Promise<number> =>
    (finishing ??= (async () => {
      if (signal && running) running.interrupted = true;
      status.stop();
      routeTerminalLogs(undefined);
      const stopping = children.stopAll();
      if (signal) warnings.push(`Interrupted (${signal}): the report shows the experiments that finished before.`);
      const machine = `${cpus().length} cores, ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}`;
      const done = entries.filter((e) => e.report && !e.interrupted);
      const passed = !signal && done.length === entries.length && done.every((e) => entryState(e) !== 'FAIL');
      try {
        await writeFile(join(dir, 'report.html'), await renderReportHtml(dir, entries, { startedAt, machine, quick: options.quick, warnings }));
      } finally {
        await writeFile(
          join(dir, 'lab.json'),
          JSON.stringify(
            {
              startedAt,
              finishedAt: new Date().toISOString(),
              quick: options.quick,
              passed,
              interrupted: Boolean(signal),
              dir,
              otherLab: lock.other,
              pids: children.pids,
              results: entries.map((e) => ({ experiment: e.name, status: entryState(e), skipped: e.report ? outcomeOf(e.report).skips : [] })),
              experiments: done.map((e) => e.report),
            },
            null,
            2,
          ) + '\n',
        );
      }
      const report = shown(join(dir, 'report.html'));
      process.stdout.write(status.wasLive ? notes(entries) + `report: ${report}\n` : summaryTable(entries) + `\nreport: ${report}\n`);
      await stopping;
      lock.release();
      if (signal) return exitCodeForSignal(signal);
      return passed ? EXIT_OK : EXIT_FAILED;
    })());
  lifecycle.onShutdown('lab report', async () => {
    const reason = lifecycle.signal.reason as string;
    await finish(reason === 'done' ? undefined : reason);
  });

  for (const [i, experiment] of chosen.entries()) {
    if (lifecycle.closing) break;
    const entry = entries[i]!;
    const expDir = join(dir, experiment.name);
    await mkdir(expDir, { recursive: true });
    running = entry;
    status.begin(experiment.name);
    const started = Date.now();
    let report: ExperimentReport;
    try {
      report = await experiment.run({ quick: options.quick, dir: expDir, children, logger, signal: lifecycle.signal, progress: (t) => status.set(experiment.name, t) });
    } catch (err) {
      report = {
        experiment: experiment.name,
        startedAt: new Date(started).toISOString(),
        durationSeconds: (Date.now() - started) / 1000,
        checks: [{ name: 'experiment ran', pass: false, detail: (err as Error).message }],
        headline: {},
        files: {},
      };
    }
    // Cut short by a signal: what it reports now is the shutdown's doing, not a result.
    if (lifecycle.closing) break;
    running = undefined;
    await writeFile(join(expDir, 'report.json'), JSON.stringify(report, null, 2) + '\n');
    entry.report = report;
    status.finish(experiment.name, outcomeOf(report).state, summaryText(experiment.name, report), report.durationSeconds);
  }
  const reason = lifecycle.closing ? (lifecycle.signal.reason as string) : undefined;
  return finish(reason === 'done' ? undefined : reason);
}

/** After the live lines: what failed and what was skipped, in full (the lines are cut to the terminal). */
function notes(entries: ReportEntry[]): string {
  const lines = entries.flatMap((e) => {
    if (!e.report) return [];
    const failed = e.report.checks.filter((c) => !c.pass).map((c) => `  ${e.name}: FAIL ${c.name}${c.detail ? ` (${c.detail})` : ''}`);
    const skipped = outcomeOf(e.report).skips.map((s) => `  ${e.name}: skipped ${s}`);
    return [...failed, ...skipped];
  });
  return lines.length ? `\n${lines.join('\n')}\n\n` : '\n';
}

/** One line per experiment, for logs and pipes (on a terminal the live lines are that table). */
export function summaryTable(entries: ReportEntry[]): string {
  const rows = entries.map((e) => [e.name, entryState(e), e.report ? summaryText(e.name, e.report) : '']);
  const widths = [0, 1].map((i) => Math.max(...rows.map((row) => row[i]!.length), 4));
  const lines = rows.map((row) => row.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell)).join('  ').trimEnd());
  return ['', ...lines, notes(entries).trimEnd()].join('\n') + '\n';
}
