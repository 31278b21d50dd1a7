import { isAbsolute, join, relative, sep } from 'node:path';
import type { ExperimentReport } from '../core/experiment-report.js';
import { describeFigure, GUIDES, type ExperimentGuide } from './experiment-guide.js';
import type { ExperimentName } from './experiment.js';
import { checkCounts, outcomeOf } from './outcome.js';
import { writeCharts } from './report-charts.js';

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
const IMAGE = /\.(png|jpe?g|gif|webp)$/i;

/** One experiment as the report shows it: its report, or why there is none. */
export interface ReportEntry {
  name: ExperimentName;
  title: string;
  /** The experiment's folder, relative to the report. */
  dir: string;
  report?: ExperimentReport;
  /** Cut short by Ctrl-C (its report, if any, is partial). */
  interrupted?: boolean;
}

export interface ReportMeta {
  startedAt: string;
  machine: string;
  quick: boolean;
  /** Shown at the top: another lab ran at the same time, the run was interrupted. */
  warnings: string[];
}

export type EntryState = 'PASS' | 'FAIL' | 'SKIPPED' | 'INTERRUPTED' | 'not run';

export function entryState(e: ReportEntry): EntryState {
  if (!e.report) return e.interrupted ? 'INTERRUPTED' : 'not run';
  return outcomeOf(e.report, e.interrupted).state;
}

/** "3/3 checks · throughput 1,046 req/s · latency, p99 227 ms": the line the screen and the summary show. */
export function summaryText(name: ExperimentName, report: ExperimentReport): string {
  const outcome = outcomeOf(report);
  if (outcome.state === 'SKIPPED') return outcome.skips.join('; ');
  const { passed, ran } = checkCounts(report);
  const guide = GUIDES[name];
  const figures = (guide?.screen ?? Object.keys(report.headline).slice(0, 3)).filter((k) => report.headline[k] !== undefined).map((k) => {
    const f = describeFigure(guide, k, report.headline[k]!);
    return `${f.label} ${f.value}`;
  });
  const failed = report.checks.find((c) => !c.pass);
  const skipped = outcome.skips.length ? [`skipped ${outcome.skips.join('; ')}`] : [];
  return [`${passed}/${ran} checks`, ...(failed ? [`failed: ${failed.name}`] : []), ...figures, ...skipped].join(' · ');
}

/** A link relative to the report, or plain text for a file outside the results folder. */
function fileLink(reportDir: string, dir: string, label: string, file: string): string {
  const rel = isAbsolute(file) ? relative(reportDir, file) : join(dir, file);
  if (rel.startsWith('..') || isAbsolute(rel)) return `${escape(label)}: <code>${escape(file)}</code> (outside the results folder)`;
  const href = rel.split(sep).map(encodeURIComponent).join('/');
  return `<a href="${escape(href)}">${escape(label)}</a>`;
}

function figuresTable(guide: ExperimentGuide | undefined, headline: Record<string, number | string>): string {
  const rows = Object.entries(headline).map(([k, v]) => {
    const f = describeFigure(guide, k, v);
    return `<tr><td>${escape(f.label)}</td><td class="num">${escape(f.value)}</td><td>${escape(f.target)}</td><td>${escape(f.reference)}</td></tr>`;
  });
  if (rows.length === 0) return '';
  return `<table class="figures"><tr><th>figure</th><th>measured here</th><th>design target</th><th>reference</th></tr>${rows.join('')}</table>`;
}

async function section(reportDir: string, e: ReportEntry): Promise<string> {
  const guide = GUIDES[e.name];
  const state = entryState(e);
  const r = e.report;
  const parts: string[] = [`<h2>${escape(e.title)} <span class="badge ${state.replace(' ', '-')}">${escape(state)}</span></h2>`];
  if (r) {
    const { passed, ran } = checkCounts(r);
    parts.push(`<p class="meta">${passed} of ${ran} checks passed · ${r.durationSeconds.toFixed(1)} s</p>`);
    const skips = outcomeOf(r).skips;
    if (skips.length) parts.push(`<p class="skip"><strong>Skipped${state === 'SKIPPED' ? '' : ' in part'}:</strong> ${skips.map(escape).join('<br>')}</p>`);
  } else {
    parts.push(`<p class="skip">${state === 'INTERRUPTED' ? 'Interrupted by Ctrl-C before it reported.' : 'Not run: the lab was interrupted before it came to this experiment.'}</p>`);
  }
  if (guide) parts.push(`<p>${escape(guide.about)}</p>`, `<p><strong>What to look for.</strong> ${escape(guide.lookFor)}</p>`);
  if (!r) return `<section id="${e.name}">${parts.join('\n')}</section>`;
  parts.push(figuresTable(guide, r.headline));
  const checks = r.checks.map((c) => {
    const skip = c.pass && c.detail?.startsWith('skipped:');
    const mark = skip ? '–' : c.pass ? '✔' : '✘';
    return `<li class="${skip ? 'skipped' : c.pass ? 'pass' : 'fail'}">${mark} ${escape(c.name)}${c.detail ? ` <small>${escape(c.detail)}</small>` : ''}</li>`;
  });
  parts.push(`<h3>Checks</h3><ul class="checks">${checks.join('')}</ul>`);
  const charts = await writeCharts(r, guide, join(reportDir, e.dir), e.dir);
  const images = Object.entries(r.files).filter(([, f]) => IMAGE.test(f));
  const figures = [
    ...charts.map((c) => `<figure data-points="${c.points}"><img src="${escape(c.file)}" alt="${escape(c.title)}"></figure>`),
    ...images.map(([label, f]) => {
      const link = fileLink(reportDir, e.dir, label, f);
      const src = /href="([^"]*)"/.exec(link)?.[1];
      return src ? `<figure class="wide"><img src="${src}" alt="${escape(label)}"><figcaption>${escape(`${e.name}'s own chart (${label})`)}</figcaption></figure>` : '';
    }),
  ].filter(Boolean);
  if (figures.length) parts.push(`<div class="charts">${figures.join('')}</div>`);
  const files = Object.entries(r.files).map(([label, f]) => fileLink(reportDir, e.dir, label, f));
  if (files.length) parts.push(`<p class="files">Files: ${files.join(' · ')}</p>`);
  return `<section id="${e.name}">${parts.join('\n')}</section>`;
}

/**
 * The lab's report, written for a reader learning the patterns: an overview, then per experiment what it
 * shows, its figures with units, target and reference, its checks, its charts (SVG files beside each
 * experiment's data, so the page holds no absolute path) and its files.
 */
export async function renderReportHtml(reportDir: string, entries: ReportEntry[], meta: ReportMeta): Promise<string> {
  const rows = entries.map((e) => {
    const state = entryState(e);
    const text = e.report ? summaryText(e.name, e.report) : '';
    return `<tr><td><a href="#${e.name}">${escape(e.name)}</a></td><td><span class="badge ${state.replace(' ', '-')}">${escape(state)}</span></td><td>${escape(text)}</td><td class="num">${e.report ? `${e.report.durationSeconds.toFixed(1)} s` : ''}</td></tr>`;
  });
  const sections: string[] = [];
  for (const e of entries) sections.push(await section(reportDir, e));
  const warnings = meta.warnings.map((w) => `<p class="warning">${escape(w)}</p>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>netlab lab report ${escape(meta.startedAt)}</title>
<style>
body{font-family:system-ui,'DejaVu Sans',sans-serif;margin:2rem auto;max-width:1240px;padding:0 1rem;color:#222;line-height:1.45}
table{border-collapse:collapse;margin:.6rem 0}td,th{border-bottom:1px solid #ddd;padding:.3rem .7rem;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.num{text-align:right;white-space:nowrap}
.badge{display:inline-block;padding:0 .45rem;border-radius:.3rem;font-size:.8em;font-weight:bold;color:#fff;vertical-align:middle}
.badge.PASS{background:#137333}.badge.FAIL{background:#c5221f}.badge.SKIPPED,.badge.not-run{background:#8a6d00}.badge.INTERRUPTED{background:#6b3fa0}
.pass{color:#137333}.fail{color:#c5221f;font-weight:bold}.skipped{color:#8a6d00}
.skip,.warning{background:#fff4d6;border-left:4px solid #e0a800;padding:.4rem .7rem}
.charts{display:flex;flex-wrap:wrap;gap:1rem}figure{margin:0}figure.wide img{max-width:100%}figcaption{color:#666;font-size:.9em}
ul.checks{list-style:none;padding-left:0}small{color:#666}section{border-top:2px solid #ddd;margin-top:2rem}p.meta{color:#666}
</style></head><body>
<h1>netlab lab report</h1>
<p class="meta">${escape(meta.startedAt)} · ${escape(meta.machine)}${meta.quick ? ' · quick run' : ''}</p>
${warnings}
<p>The lab ran each experiment below as real processes on this machine, one after another, and checked what the exercise asks for. Each section says what ran and what to look for, then gives the measured figures beside the design's target and a reference run from <code>docs/benchmarks.md</code> (measured on a quiet 2-core machine with longer runs; a quick run on a shared machine is indicative only). SKIPPED means nothing was measured: the reason says what to start.</p>
<table><tr><th>experiment</th><th>result</th><th>summary</th><th>time</th></tr>
${rows.join('\n')}
</table>
${sections.join('\n')}
</body></html>
`;
}
