import type { ExperimentCheck, ExperimentReport } from '../../core/experiment-report.js';
import { cellLabel, formatBytes, type EchoResults } from './bench-results.js';

/** What `netlab lab` reads: correctness checks, the main cell's requests/s per server, the files, the series. */
export function buildBenchReport(results: EchoResults, files: Record<string, string>): ExperimentReport {
  const cells = results.cells;
  const requests = cells.reduce((a, c) => a + c.requests, 0);
  const mismatches = cells.reduce((a, c) => a + c.mismatches, 0);
  const errors = cells.reduce((a, c) => a + c.errorCount, 0);
  const saturated = cells.filter((c) => c.generator.saturated);
  const busiest = Math.max(0, ...cells.map((c) => c.generator.maxCpuCores));
  const failedStarts = results.skipped.filter((s) => s.failed);

  const checks: ExperimentCheck[] = [
    { name: 'servers started', pass: failedStarts.length === 0 && results.targets.length > 0, detail: failedStarts.length ? failedStarts.map((s) => `${s.target}: ${s.reason}`).join('; ') : `${results.targets.map((t) => t.name).join(', ')}${results.skipped.length ? `; skipped ${results.skipped.map((s) => s.target).join(', ')}` : ''}` },
    { name: 'all echoes correct', pass: mismatches === 0 && requests > 0, detail: `${requests} echoes measured, ${mismatches} mismatched` },
    { name: 'no errors', pass: errors === 0, detail: errors === 0 ? 'no connection errors or timeouts' : cells.filter((c) => c.errorCount).map((c) => `${c.target} ${cellLabel(c.size, c.connections)}: ${JSON.stringify(c.errors)}`).join('; ') },
    { name: 'generator not saturated', pass: saturated.length === 0, detail: saturated.length === 0 ? `busiest generator process used ${Math.round(busiest * 100)}% of a core` : `saturated in ${saturated.map((c) => `${c.target} ${cellLabel(c.size, c.connections)}`).join(', ')}` },
  ];
  if (results.idle) {
    const i = results.idle;
    checks.push({ name: 'idle connections held', pass: i.opened === i.requested && i.stillServing, detail: `${i.opened}/${i.requested} held, ${(i.rssPerConnectionBytes / 1024).toFixed(2)} KiB each, still serving: ${i.stillServing}` });
  }

  const main = results.mainCell;
  const headline: Record<string, number | string> = { main_cell: `${formatBytes(main.size)} x ${main.connections} connections` };
  const atMain = cells.filter((c) => c.size === main.size && c.connections === main.connections);
  for (const c of atMain) {
    headline[`rps_${c.target}`] = Math.round(c.rps);
    headline[`p99_us_${c.target}`] = c.latencyUs.p99;
  }
  const netlabNames = new Set(results.targets.filter((t) => t.kind === 'netlab').map((t) => t.name));
  const best = atMain.filter((c) => netlabNames.has(c.target)).sort((a, b) => b.rps - a.rps)[0];
  if (best) {
    headline.best_model = best.target;
    for (const baseline of ['python-asyncio', 'python-threaded']) {
      const b = atMain.find((c) => c.target === baseline);
      if (b && b.rps > 0) headline[`best_vs_${baseline.replace('python-', '')}`] = Math.round((best.rps / b.rps) * 100) / 100;
    }
  }
  if (results.idle) headline.idle_rss_per_connection_bytes = results.idle.rssPerConnectionBytes;

  const series: NonNullable<ExperimentReport['series']> = {};
  for (const c of cells) (series[`rps_${c.target}`] ??= []).push({ x: cellLabel(c.size, c.connections), y: Math.round(c.rps) });

  return {
    experiment: 'echo',
    startedAt: results.startedAt,
    durationSeconds: results.durationSeconds,
    checks,
    headline,
    files,
    series,
  };
}
