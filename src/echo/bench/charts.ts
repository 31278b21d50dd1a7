import { renderSvg, svgToPng, type ChartSpec } from '../../core/charts.js';
import { formatBytes, type EchoResults } from './bench-results.js';

/** PNG pixels per SVG pixel, so the chart stays sharp when zoomed. */
const PNG_ZOOM = 2;
/** Width of one facet panel in SVG pixels. */
const PANEL_WIDTH = 170;
const PANEL_HEIGHT = 150;
/** resvg maps a bare sans-serif to Arial, absent on most Linux boxes: name a common sans font first. */
const CHART_FONT = 'DejaVu Sans, Helvetica, Arial, sans-serif';

/** One row per cell: what the chart plots. */
function chartRows(results: EchoResults) {
  return results.cells.map((c) => ({
    target: c.target,
    size: formatBytes(c.size),
    connections: c.connections,
    rps: Math.round(c.rps),
    p99Us: Math.max(1, c.latencyUs.p99),
    rssMiB: Math.round((c.server.peakRssBytes / (1024 * 1024)) * 10) / 10,
  }));
}

/**
 * Three rows of panels, one panel per message size: requests/s (bars per connections and
 * target), p99 latency (log scale), and the server's peak RSS.
 */
export function buildChartSpec(results: EchoResults): ChartSpec {
  const targets = [...new Set(results.cells.map((c) => c.target))];
  const sizeOrder = [...new Set([...results.cells].sort((a, b) => a.size - b.size).map((c) => formatBytes(c.size)))];
  const column = { field: 'size', type: 'ordinal' as const, sort: sizeOrder, title: 'message size' };
  const x = { field: 'connections', type: 'ordinal' as const, title: 'connections', axis: { labelAngle: 0 } };
  const color = { field: 'target', type: 'nominal' as const, sort: targets, title: 'server' };
  const panel = (title: string, spec: object) => ({ facet: { column }, spec: { width: PANEL_WIDTH, height: PANEL_HEIGHT, ...spec }, title });
  const m = results.mainCell;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'netlab echo: closed-loop TCP echo by concurrency model',
      subtitle: `${results.machine.cpus} cores, Node ${results.machine.node}, ${results.config.durationMs} ms per cell, main cell ${formatBytes(m.size)} x ${m.connections}`,
    },
    data: { values: chartRows(results) },
    background: 'white',
    config: { font: CHART_FONT },
    vconcat: [
      panel('requests per second', {
        mark: 'bar',
        encoding: { x, xOffset: { field: 'target', sort: targets }, y: { field: 'rps', type: 'quantitative', title: 'requests/s' }, color },
      }),
      panel('p99 latency (µs, log scale)', {
        mark: { type: 'line', point: true },
        encoding: { x, y: { field: 'p99Us', type: 'quantitative', scale: { type: 'log' }, title: 'p99 µs' }, color },
      }),
      panel('server peak RSS during the load (MiB)', {
        mark: 'bar',
        encoding: { x, xOffset: { field: 'target', sort: targets }, y: { field: 'rssMiB', type: 'quantitative', title: 'MiB' }, color },
      }),
    ],
  } as ChartSpec;
}

export async function renderCharts(results: EchoResults): Promise<{ svg: string; png: Buffer }> {
  const svg = await renderSvg(buildChartSpec(results));
  const width = Number(/<svg[^>]*\swidth="([\d.]+)"/.exec(svg)?.[1] ?? 700);
  return { svg, png: svgToPng(svg, Math.round(width * PNG_ZOOM)) };
}
