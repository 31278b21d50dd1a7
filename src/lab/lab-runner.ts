import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { reportPassed, type ExperimentReport } from '../core/experiment-report.js';
import type { RoleContext } from '../core/role.js';
import { ChildSet } from './child-processes.js';
import type { ExperimentName } from './experiment.js';
import { EXPERIMENTS } from './experiments.js';
import { LiveStatus } from './live-status.js';
import { renderReportHtml } from './report-html.js';

export interface LabOptions {
  only: ExperimentName[];
  quick: boolean;
  out?: string;
}

const timestamp = () => new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);

/** Runs the chosen experiments one after another (two cores: side by side they would distort each other). */
export async function runLab(options: LabOptions, { logger, lifecycle }: RoleContext): Promise<number> {
  const dir = resolve(options.out ?? join('results', timestamp()));
  await mkdir(dir, { recursive: true });
  const children = new ChildSet();
  const chosen = EXPERIMENTS.filter((e) => options.only.includes(e.name));
  const status = new LiveStatus(chosen.map((e) => e.name));
  const startedAt = new Date().toISOString();
  const results: { dir: string; report: ExperimentReport }[] = [];
  const record = (passed: boolean, interrupted: boolean) =>
    writeFile(
      join(dir, 'lab.json'),
      JSON.stringify({ startedAt, finishedAt: new Date().toISOString(), quick: options.quick, passed, interrupted, pids: children.pids, experiments: results.map((r) => r.report) }, null, 2) + '\n',
    );
  // Hooks run last-registered first: stop every process, then record what ran.
  lifecycle.onShutdown('lab record', async () => {
    if (lifecycle.signal.reason !== 'done') await record(false, true);
  });
  lifecycle.onShutdown('lab processes', () => {
    status.stop();
    return children.stopAll();
  });

  for (const experiment of chosen) {
    if (lifecycle.closing) break;
    const expDir = join(dir, experiment.name);
    await mkdir(expDir, { recursive: true });
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
    await writeFile(join(expDir, 'report.json'), JSON.stringify(report, null, 2) + '\n');
    results.push({ dir: experiment.name, report });
    const headline = Object.entries(report.headline).map(([k, v]) => `${k}=${v}`).join(' ');
    status.set(experiment.name, `${reportPassed(report) ? 'PASS' : 'FAIL'} ${headline}`);
  }
  status.stop();
  await children.stopAll();

  const machine = `${cpus().length} cores, ${cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}`;
  await writeFile(join(dir, 'report.html'), await renderReportHtml(results, { startedAt, machine, quick: options.quick }));
  const passed = results.length === chosen.length && results.every((r) => reportPassed(r.report));
  await record(passed, false);
  process.stdout.write(summaryTable(results) + `\nreport: ${join(dir, 'report.html')}\n`);
  return passed ? 0 : 1;
}

export function summaryTable(results: { report: ExperimentReport }[]): string {
  const rows = results.map(({ report: r }) => [
    r.experiment,
    reportPassed(r) ? 'PASS' : 'FAIL',
    `${r.checks.filter((c) => c.pass).length}/${r.checks.length} checks`,
    Object.entries(r.headline).map(([k, v]) => `${k}=${v}`).join(' '),
  ]);
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((row) => row[i]!.length), 4));
  const lines = rows.map((row) => row.map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell)).join('  '));
  const failed = results.flatMap(({ report: r }) => r.checks.filter((c) => !c.pass).map((c) => `  ${r.experiment}: ${c.name}${c.detail ? ` (${c.detail})` : ''}`));
  return ['', ...lines, ...(failed.length ? ['', 'failed checks:', ...failed] : [])].join('\n') + '\n';
}
