import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderSvg, type ChartSpec } from '../core/charts.js';
import type { ExperimentReport } from '../core/experiment-report.js';
import type { ChartGuide, ExperimentGuide } from './experiment-guide.js';

export const CHART_WIDTH = 560;
export const CHART_HEIGHT = 240;
const EVENT_COLOR = '#c5221f';
const FONT = 'DejaVu Sans, sans-serif';
/** Labels up to this many characters stand upright; longer ones are tilted. */
const UPRIGHT_LABEL_CHARS = 10;

export interface Chart {
  title: string;
  /** Relative to the report. */
  file: string;
  points: number;
}

type Point = { x: number | string; y: number; s: string };

/** The charts of one experiment, as the guide groups its series: every group on one scale. */
export function chartGroups(report: ExperimentReport, guide: ExperimentGuide | undefined): { guide: ChartGuide; points: Point[] }[] {
  const series = Object.entries(report.series ?? {}).filter(([, points]) => points.length > 0);
  const used = new Set<string>();
  const groups: { guide: ChartGuide; points: Point[] }[] = [];
  for (const chart of guide?.charts ?? []) {
    const points: Point[] = [];
    for (const [name, values] of series) {
      const m = chart.series.exec(name);
      if (!m || used.has(name)) continue;
      used.add(name);
      const label = chart.names?.[m[1] ?? name] ?? m[1] ?? name;
      for (const p of values) points.push({ x: p.x, y: p.y, s: label });
    }
    if (points.length > 0) groups.push({ guide: chart, points });
  }
  // A series the guide does not know still gets a chart, titled by its name.
  for (const [name, values] of series) {
    if (used.has(name)) continue;
    const title = name.replace(/_/g, ' ');
    groups.push({ guide: { series: /^$/, title, x: '', y: title }, points: values.map((p) => ({ x: p.x, y: p.y, s: name })) });
  }
  return groups;
}

export function chartSpec(chart: ChartGuide, points: Point[], events: { at: number; label: string }[] = []): ChartSpec {
  const numeric = points.every((p) => typeof p.x === 'number');
  const many = new Set(points.map((p) => p.s)).size > 1;
  const order = [...new Set(points.map((p) => String(p.x)))];
  const legends = [...new Set(points.map((p) => p.s))];
  const color = many ? { color: { field: 's', type: 'nominal', title: chart.legend ?? null, sort: legends } } : {};
  // Upright labels only when they are short and fit side by side (about 7 px per character).
  const long = order.some((x) => x.length > UPRIGHT_LABEL_CHARS) || order.length * Math.max(...order.map((x) => x.length)) * 7 > CHART_WIDTH;
  const x = numeric
    ? { field: 'x', type: 'quantitative', title: chart.x }
    : { field: 'x', type: 'ordinal', sort: order, title: chart.x, axis: { labelAngle: long ? -45 : 0, labelLimit: 240 } };
  const y = { field: 'y', type: 'quantitative', title: chart.y };
  const main = numeric
    ? { data: { values: points }, mark: { type: 'line', point: true }, encoding: { x, y, ...color } }
    : { data: { values: points }, mark: { type: 'bar' }, encoding: { x, y, ...color, ...(many ? { xOffset: { field: 's', sort: legends } } : {}) } };
  const marked = numeric && chart.events && events.length > 0;
  // Labels of events close together go one under the other (pixels from the top).
  const labelled = events.map((e, i) => ({ ...e, row: 2 + (i % 3) * 14 }));
  const layers = marked
    ? [
        main,
        { data: { values: events }, mark: { type: 'rule', color: EVENT_COLOR, strokeDash: [5, 3], strokeWidth: 1.5 }, encoding: { x: { field: 'at', type: 'quantitative' } } },
        { data: { values: labelled }, mark: { type: 'text', color: EVENT_COLOR, align: 'left', baseline: 'top', dx: 4 }, encoding: { x: { field: 'at', type: 'quantitative' }, y: { field: 'row', type: 'quantitative', scale: null }, text: { field: 'label' } } },
      ]
    : [main];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: chart.title, anchor: 'start' },
    width: CHART_WIDTH,
    height: CHART_HEIGHT,
    background: 'white',
    layer: layers,
    config: { font: FONT },
  } as ChartSpec;
}

/** Renders every chart of a report to `<dir>/charts/<n>.svg`; returns them with paths relative to `reportDir/..`. */
export async function writeCharts(report: ExperimentReport, guide: ExperimentGuide | undefined, expDir: string, linkDir: string): Promise<Chart[]> {
  const charts: Chart[] = [];
  const groups = chartGroups(report, guide);
  if (groups.length === 0) return charts;
  await mkdir(join(expDir, 'charts'), { recursive: true });
  for (const [i, { guide: chart, points }] of groups.entries()) {
    const name = `${i + 1}-${chart.title.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '')}.svg`;
    await writeFile(join(expDir, 'charts', name), await renderSvg(chartSpec(chart, points, report.events)));
    charts.push({ title: chart.title, file: `${linkDir}/charts/${name}`, points: points.length });
  }
  return charts;
}
