import type { ExperimentReport } from '../core/experiment-report.js';
import { reportPassed } from '../core/experiment-report.js';
import { renderSvg } from '../core/charts.js';

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** One bar chart per series; x is a label or a number, y a value. */
async function seriesChart(title: string, points: { x: number | string; y: number }[]): Promise<string> {
  const numeric = points.every((p) => typeof p.x === 'number');
  return renderSvg({
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title,
    width: 520,
    height: 220,
    data: { values: points },
    mark: numeric ? { type: 'line', point: true } : { type: 'bar' },
    encoding: {
      x: numeric ? { field: 'x', type: 'quantitative', title: null } : { field: 'x', type: 'ordinal', sort: null, title: null, axis: { labelAngle: -30 } },
      y: { field: 'y', type: 'quantitative', title: null },
    },
    config: { font: 'DejaVu Sans, sans-serif' },
  });
}

/** The lab's report: a summary table, then per experiment its checks, numbers, charts and files. */
export async function renderReportHtml(reports: { dir: string; report: ExperimentReport }[], meta: { startedAt: string; machine: string; quick: boolean }): Promise<string> {
  const rows = reports
    .map(({ report: r }) => {
      const pass = reportPassed(r);
      const numbers = Object.entries(r.headline).map(([k, v]) => `${escape(k)}=${escape(String(v))}`).join(' · ');
      return `<tr><td><a href="#${r.experiment}">${escape(r.experiment)}</a></td><td class="${pass ? 'pass' : 'fail'}">${pass ? 'PASS' : 'FAIL'}</td><td>${r.checks.filter((c) => c.pass).length}/${r.checks.length}</td><td>${numbers}</td><td>${r.durationSeconds.toFixed(1)} s</td></tr>`;
    })
    .join('\n');
  const sections: string[] = [];
  for (const { dir, report: r } of reports) {
    const checks = r.checks.map((c) => `<li class="${c.pass ? 'pass' : 'fail'}">${c.pass ? '✔' : '✘'} ${escape(c.name)}${c.detail ? ` <small>${escape(c.detail)}</small>` : ''}</li>`).join('');
    const charts: string[] = [];
    for (const [title, points] of Object.entries(r.series ?? {})) {
      if (points.length > 0) charts.push(`<figure>${await seriesChart(title, points)}</figure>`);
    }
    const files = Object.entries(r.files).map(([label, file]) => `<a href="${escape(file.startsWith('/') ? `file://${file}` : `${dir}/${file}`)}">${escape(label)}</a>`).join(' · ');
    sections.push(`<section id="${r.experiment}"><h2>${escape(r.experiment)}</h2><ul class="checks">${checks}</ul><div class="charts">${charts.join('')}</div><p>Files: ${files}</p></section>`);
  }
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>netlab report ${escape(meta.startedAt)}</title>
<style>
body{font-family:system-ui,DejaVu Sans,sans-serif;margin:2rem;max-width:1200px;color:#222}
table{border-collapse:collapse}td,th{border-bottom:1px solid #ddd;padding:.3rem .8rem;text-align:left}
.pass{color:#137333}.fail{color:#c5221f;font-weight:bold}.charts{display:flex;flex-wrap:wrap;gap:1rem}
figure{margin:0}ul.checks{list-style:none;padding-left:0}small{color:#666}
</style></head><body>
<h1>netlab lab report</h1>
<p>${escape(meta.startedAt)} · ${escape(meta.machine)}${meta.quick ? ' · quick run' : ''}</p>
<table><tr><th>experiment</th><th>result</th><th>checks</th><th>headline</th><th>time</th></tr>
${rows}
</table>
${sections.join('\n')}
</body></html>
`;
}
