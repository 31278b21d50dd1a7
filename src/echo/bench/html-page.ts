import { cellLabel, type EchoResults } from './bench-results.js';

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** DIR/index.html: the chart (inline SVG, PNG linked), the table of cells and the run's context. */
export function renderHtml(results: EchoResults, svg: string): string {
  const m = results.machine;
  const rows = results.cells
    .map((c) =>
      `<tr><td>${escape(c.target)}</td><td>${escape(cellLabel(c.size, c.connections))}</td><td>${c.rps.toFixed(0)}</td>` +
      `<td>${c.latencyUs.p50}</td><td>${c.latencyUs.p90}</td><td>${c.latencyUs.p99}</td><td>${c.latencyUs.max}</td>` +
      `<td>${c.server.cpuSeconds.toFixed(2)}</td><td>${(c.server.peakRssBytes / 1048576).toFixed(1)}</td>` +
      `<td>${c.errorCount}</td><td>${c.mismatches}</td><td>${(c.generator.maxCpuCores * 100).toFixed(0)}%${c.generator.saturated ? ' (saturated)' : ''}</td></tr>`,
    )
    .join('\n');
  const skipped = results.skipped.map((s) => `<li>${escape(s.target)}: ${escape(s.reason)}</li>`).join('');
  const idle = results.idle
    ? `<h2>Idle connections</h2><p>${results.idle.opened} of ${results.idle.requested} idle connections held by <b>${escape(results.idle.target)}</b>:
RSS ${(results.idle.rssBeforeBytes / 1048576).toFixed(1)} MiB → ${(results.idle.rssAfterBytes / 1048576).toFixed(1)} MiB,
${(results.idle.rssPerConnectionBytes / 1024).toFixed(2)} KiB per connection; still serving: ${results.idle.stillServing ? 'yes' : 'no'}.</p>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>netlab echo bench</title>
<style>body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}td:first-child,td:nth-child(2){text-align:left}</style>
</head><body>
<h1>netlab echo bench</h1>
<p>${escape(results.startedAt)}, ${results.durationSeconds.toFixed(0)} s; ${m.cpus} × ${escape(m.cpuModel)}; Node ${escape(m.node)}; ${escape(m.platform)} ${escape(m.kernel)};
load average ${m.loadAverageStart.map((l) => l.toFixed(2)).join(' ')} at start, ${m.loadAverageEnd.map((l) => l.toFixed(2)).join(' ')} at end.
Raw data: <a href="results.json">results.json</a>; chart as <a href="results.png">PNG</a>.</p>
${skipped ? `<p>Skipped:</p><ul>${skipped}</ul>` : ''}
<figure>${svg}</figure>
<h2>Cells</h2>
<table><thead><tr><th>server</th><th>cell</th><th>req/s</th><th>p50 µs</th><th>p90 µs</th><th>p99 µs</th><th>max µs</th><th>server CPU s</th><th>peak RSS MiB</th><th>errors</th><th>mismatches</th><th>generator CPU</th></tr></thead>
<tbody>
${rows}
</tbody></table>
${idle}
</body></html>
`;
}
