import { describe, expect, it } from 'vitest';
import { buildBenchReport } from '../../../src/echo/bench/bench-report.js';
import { RESULTS_SCHEMA, resultsSchema, type EchoCell, type EchoResults } from '../../../src/echo/bench/bench-results.js';
import { renderCharts } from '../../../src/echo/bench/charts.js';
import { renderHtml } from '../../../src/echo/bench/html-page.js';

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function cell(target: string, size: number, connections: number, rps: number, extra: Partial<EchoCell> = {}): EchoCell {
  return {
    target, size, connections, connectionsOpened: connections, requests: rps, elapsedSeconds: 1, rps, bytesPerSecond: rps * size,
    latencyUs: { p50: 100, p90: 200, p99: 400, max: 900, mean: 120 }, errors: {}, errorCount: 0, mismatches: 0,
    server: { cpuSeconds: 0.9, cpuCores: 0.9, peakRssBytes: 60 * 1024 * 1024, processes: 1 },
    generator: { processes: 2, maxCpuCores: 0.5, saturated: false }, machineCpuBusy: 0.8, ...extra,
  };
}

function fixture(cells: EchoCell[]): EchoResults {
  return resultsSchema.parse({
    schema: RESULTS_SCHEMA, startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:01:00.000Z', durationSeconds: 60,
    machine: { cpus: 2, cpuModel: 'test cpu', node: 'v24.0.0', platform: 'linux', kernel: '6.1', loadAverageStart: [0.1, 0.2, 0.3], loadAverageEnd: [1, 1, 1] },
    config: { models: ['loop', 'cluster'], baselines: ['python-asyncio'], sizes: [64, 1024], connections: [1, 50], durationMs: 1000, warmupMs: 100, workers: 2, generators: 2, requestTimeoutMs: 10000, idleConnections: 0 },
    targets: [
      { name: 'loop', kind: 'netlab', description: 'x', command: 'x' },
      { name: 'cluster', kind: 'netlab', description: 'x', command: 'x' },
      { name: 'python-asyncio', kind: 'baseline', description: 'x', command: 'x' },
    ],
    skipped: [{ target: 'threads', reason: 'old Node', failed: false }],
    mainCell: { size: 64, connections: 50 },
    cells,
  });
}

const grid = ['loop', 'cluster', 'python-asyncio'].flatMap((t, i) => [64, 1024].flatMap((s) => [1, 50].map((c) => cell(t, s, c, 1000 * (i + 1) * c))));

describe('charts and page', () => {
  it('renders a real PNG of non-trivial size and an SVG naming every server', async () => {
    const { svg, png } = await renderCharts(fixture(grid));
    expect(png.subarray(0, 8).equals(PNG_MAGIC)).toBe(true);
    expect(png.length).toBeGreaterThan(30_000);
    // IHDR: width and height of the image, big-endian at bytes 16..24.
    expect(png.readUInt32BE(16)).toBeGreaterThan(600);
    expect(png.readUInt32BE(20)).toBeGreaterThan(600);
    for (const name of ['loop', 'cluster', 'python-asyncio', 'requests per second', 'p99 latency']) expect(svg).toContain(name);
  });

  it('builds the page with the chart inline and every cell in the table', async () => {
    const results = fixture(grid);
    const { svg } = await renderCharts(results);
    const html = renderHtml(results, svg);
    expect(html).toContain('<svg');
    expect(html).toContain('results.png');
    expect(html.match(/<tr><td>/g)).toHaveLength(grid.length);
    expect(html).toContain('threads: old Node');
  });
});

describe('experiment report', () => {
  it('passes on a clean run and gives the main cell per server with ratios to the baseline', () => {
    const report = buildBenchReport(fixture(grid), { results: '/x/results.json' });
    expect(report.checks.every((c) => c.pass)).toBe(true);
    expect(report.headline).toMatchObject({ rps_loop: 50_000, rps_cluster: 100_000, 'rps_python-asyncio': 150_000, best_model: 'cluster', best_vs_asyncio: 0.67 });
    expect(report.series?.rps_loop).toHaveLength(4);
  });

  it('fails the checks on a mismatch, an error, or a saturated generator', () => {
    const bad = [...grid.slice(1), cell('loop', 64, 1, 10, { mismatches: 1, errors: { ECONNRESET: 2 }, errorCount: 2, generator: { processes: 1, maxCpuCores: 0.97, saturated: true } })];
    const failed = buildBenchReport(fixture(bad), {}).checks.filter((c) => !c.pass).map((c) => c.name);
    expect(failed).toEqual(['all echoes correct', 'no errors', 'generator not saturated']);
  });
});
