import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ExperimentReport } from '../../src/core/experiment-report.js';
import { probeReusePort } from '../../src/core/net.js';
import { resultsSchema } from '../../src/echo/bench/bench-results.js';
import { pythonUnavailable } from '../../src/echo/bench/target-server.js';
import { startNetlab } from '../helpers/netlab-process.js';

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('echo-bench end to end (tiny durations)', () => {
  it('measures every available model and the Python baselines, and writes JSON, PNG, HTML and the report', async () => {
    const out = await mkdtemp(join(tmpdir(), 'netlab-echo-bench-'));
    dirs.push(out);
    const report = join(out, 'report.json');
    const withPython = pythonUnavailable('python3') === undefined;
    const bench = startNetlab([
      'echo-bench', '--models', 'loop,cluster,threads', '--sizes', '64,4096', '--connections', '3',
      '--duration', '200ms', '--warmup', '50ms', '--workers', '2', '--generators', '2', '--idle-connections', '300',
      '--out', out, '--report', report, ...(withPython ? ['--baseline', 'python'] : []),
    ]);
    expect(await bench.exited, bench.output().slice(-3000)).toBe(0);
    // The exercise's table format, one line per cell.
    expect(bench.stdout()).toMatch(/\[loop\]\s+64 B x 3 \| RPS: +\d+(\.\d)? \| p50: +\d+ µs \| p99: +\d+ µs \| RSS: +[\d.]+ MB/);

    const results = resultsSchema.parse(JSON.parse(await readFile(join(out, 'results.json'), 'utf8')));
    const expected = ['loop', 'cluster', ...((await probeReusePort()).supported ? ['threads'] : []), ...(withPython ? ['python-threaded', 'python-asyncio'] : [])];
    expect(results.targets.map((t) => t.name)).toEqual(expected);
    expect(results.cells).toHaveLength(expected.length * 2);
    for (const c of results.cells) {
      expect(c.requests, `${c.target} ${c.size} x ${c.connections}`).toBeGreaterThan(0);
      expect(c.mismatches).toBe(0);
      expect(c.errorCount).toBe(0);
      expect(c.latencyUs.p99).toBeGreaterThanOrEqual(c.latencyUs.p50);
      expect(c.server.peakRssBytes).toBeGreaterThan(5 * 1024 * 1024);
      expect(c.server.processes).toBe(c.target === 'cluster' ? 3 : 1);
      expect(c.generator.processes).toBe(2);
    }
    expect(results.mainCell).toEqual({ size: 64, connections: 3 });
    expect(results.idle).toMatchObject({ target: 'loop', requested: 300, opened: 300, stillServing: true });

    const png = await readFile(join(out, 'results.png'));
    expect(png.subarray(0, 8).equals(PNG_MAGIC)).toBe(true);
    expect(png.length).toBeGreaterThan(30_000);
    const html = await readFile(join(out, 'index.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('results.png');

    const r = JSON.parse(await readFile(report, 'utf8')) as ExperimentReport;
    expect(r.experiment).toBe('echo');
    expect(r.checks.map((c) => c.name)).toEqual(['servers started', 'all echoes correct', 'no errors', 'generator not saturated', 'idle connections held']);
    for (const name of ['servers started', 'all echoes correct', 'no errors', 'idle connections held']) expect(r.checks.find((c) => c.name === name)?.pass, name).toBe(true);
    expect(r.headline.rps_loop).toBeGreaterThan(0);
    expect(r.files.chart).toBe(join(out, 'results.png'));
    expect(r.series?.rps_loop).toHaveLength(2);
  }, 120_000);

  it('rejects bad flags with one line per flag and exit 2', async () => {
    const bench = startNetlab(['echo-bench', '--models', 'loop,fork', '--sizes', '0', '--connections', 'many', '--baseline', 'go']);
    expect(await bench.exited).toBe(2);
    const lines = bench.stderr().trim().split('\n');
    expect(lines).toHaveLength(4);
    for (const flag of ['--models', '--sizes', '--connections', '--baseline']) expect(lines.join('\n')).toContain(flag);
  });
});
