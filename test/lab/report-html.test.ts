import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { svgToPng } from '../../src/core/charts.js';
import type { ExperimentReport } from '../../src/core/experiment-report.js';
import { renderReportHtml, type ReportEntry } from '../../src/lab/report-html.js';
import { findChromium, inspectPage, REQUIRE_CHROMIUM } from './chromium.js';

let dir: string;
let outside: string;
let html: string;
const started = '2026-12-01T10:00:00.000Z';

const report = (experiment: string, r: Partial<ExperimentReport>): ExperimentReport => ({ experiment, startedAt: started, durationSeconds: 3.2, checks: [], headline: {}, files: {}, ...r });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'netlab-report-'));
  outside = await mkdtemp(join(tmpdir(), 'netlab-outside-'));
  for (const e of ['messenger', 'pingpong', 'echo', 'tick', 'dispatch']) await mkdir(join(dir, e));
  const png = svgToPng('<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><rect width="40" height="20" fill="#36c"/></svg>', 80);
  await writeFile(join(dir, 'echo', 'results.png'), png);
  await writeFile(join(outside, 'store.mdb'), '');
  const entries: ReportEntry[] = [
    {
      name: 'messenger',
      title: 'Messenger',
      dir: 'messenger',
      report: report('messenger', {
        checks: [{ name: 'the four ordering properties hold', pass: true, detail: '1000 responses verified' }],
        headline: { throughput_rps: 8280, p50_ms: 5.1, p99_ms: 19.3, max_ms: 35 },
        files: { bench: 'bench.json' },
        series: {
          'latency distribution (ms)': [{ x: '≤5', y: 600 }, { x: '≤10', y: 300 }, { x: 'more', y: 100 }],
          'throughput per replica (req/s)': [{ x: 'replica 1', y: 4100 }, { x: 'replica 2', y: 4180 }],
        },
      }),
    },
    {
      name: 'pingpong',
      title: 'Ping-pong',
      dir: 'pingpong',
      report: report('pingpong', {
        checks: [{ name: 'log format valid', pass: true }],
        headline: { requests: 120, rtt_p50_ms: 28 },
        // Absolute paths: one inside the results folder (linked relatively), one outside (named, not linked).
        files: { server_log: join(dir, 'pingpong', 'server.log'), store: join(outside, 'store.mdb') },
        series: { rtt_ms: [{ x: '<=10', y: 3 }, { x: '<=25', y: 40 }] },
      }),
    },
    {
      name: 'echo',
      title: 'Echo',
      dir: 'echo',
      report: report('echo', {
        checks: [{ name: 'all echoes correct', pass: true }],
        headline: { main_cell: '64 B x 50 connections', rps_loop: 34694, rps_cluster: 42356, best_model: 'cluster' },
        files: { chart: join(dir, 'echo', 'results.png') },
        series: { rps_loop: [{ x: '64 B x 50', y: 34694 }], rps_cluster: [{ x: '64 B x 50', y: 42356 }] },
      }),
    },
    {
      name: 'tick',
      title: 'Tick',
      dir: 'tick',
      report: report('tick', {
        checks: ['nats', 'amqp'].flatMap((bus) => ['both directions received', 'no loss in steady state'].map((c) => ({ name: `${bus}: ${c}`, pass: true, detail: `skipped: nothing answers at 127.0.0.1 (start ${bus} with docker run ...)` }))),
        headline: { rate_per_second: 100, nats_status: 'skipped', amqp_status: 'skipped' },
      }),
    },
    {
      name: 'dispatch',
      title: 'Dispatcher',
      dir: 'dispatch',
      report: report('dispatch', {
        checks: [{ name: 'no message done twice', pass: true }],
        headline: { done: 173, dead_letter_share_pct: 32.9, dispatcher_kills: 1 },
        series: Object.fromEntries(['queued', 'leased', 'done', 'dead'].map((k, i) => [k, [0, 1, 2, 3, 4].map((t) => ({ x: t, y: t * (i + 1) }))])),
        events: [{ at: 2, label: 'dispatcher SIGKILL' }, { at: 2.4, label: 'restarted' }],
      }),
    },
  ];
  html = await renderReportHtml(dir, entries, { startedAt: started, machine: '2 cores', quick: true, warnings: [] });
  await writeFile(join(dir, 'report.html'), html);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
});

describe('report.html', () => {
  it('explains every experiment: what it shows, figures with units and targets, not raw keys', () => {
    for (const e of ['messenger', 'pingpong', 'echo', 'tick', 'dispatch']) expect(html).toMatch(new RegExp(`<section id="${e}">[\\s\\S]*?What to look for\\.`));
    expect(html).toContain('<td class="num">8,280 req/s</td><td>≥ 5,000 req/s');
    expect(html).toContain('naive design ≈ 450');
    expect(html).toContain('32.9%</td><td>&gt; 20%: 20% period &gt; 800, plus batches lost with their worker (not judged)</td><td>typically 30–39%');
    expect(html).not.toMatch(/throughput_rps|nats_status|=8280/);
  });

  it('shows a skipped experiment as SKIPPED with its reason, not as a pass', () => {
    const tick = /<section id="tick">[\s\S]*?<\/section>/.exec(html)![0];
    expect(tick).toContain('badge SKIPPED');
    expect(tick).not.toContain('badge PASS');
    expect(tick).toContain('nats: nothing answers at 127.0.0.1 (start nats with docker run ...)');
  });

  it('draws comparable series on one chart, with axis titles, and marks events on the time series', async () => {
    const echoCharts = await readdir(join(dir, 'echo', 'charts'));
    expect(echoCharts).toHaveLength(1);
    const echo = await readFile(join(dir, 'echo', 'charts', echoCharts[0]!), 'utf8');
    expect(echo).toContain('requests per second (req/s)');
    expect(echo).toMatch(/>loop<[\s\S]*>cluster</);
    const [dispatchChart] = await readdir(join(dir, 'dispatch', 'charts'));
    const dispatch = await readFile(join(dir, 'dispatch', 'charts', dispatchChart!), 'utf8');
    expect(dispatch).toContain('dispatcher SIGKILL');
    expect(dispatch).toContain('time since the workers started (s)');
    const messenger = await readdir(join(dir, 'messenger', 'charts'));
    const replicas = await readFile(join(dir, 'messenger', 'charts', messenger.find((f) => f.includes('replica'))!), 'utf8');
    expect(replicas).toContain('>replica 1<');
  });

  it('links only relative paths; a file outside the results folder is named, not linked', () => {
    const hrefs = [...html.matchAll(/(?:href|src)="([^"]*)"/g)].map((m) => m[1]!);
    expect(hrefs.length).toBeGreaterThan(5);
    for (const h of hrefs) expect(h, h).not.toMatch(/^(\/|[a-z]+:)/i);
    expect(hrefs).toContain('pingpong/server.log');
    expect(hrefs).toContain('echo/results.png');
    expect(html).toContain('(outside the results folder)');
  });

  const chromium = findChromium();
  it.skipIf(!chromium && !REQUIRE_CHROMIUM)(`renders in headless Chromium: every image loads, no chart is empty, no link is absolute${chromium ? '' : ' (skipped: no chromium; NETLAB_REQUIRE_CHROMIUM=1 fails instead)'}`, async () => {
    expect(chromium, 'NETLAB_REQUIRE_CHROMIUM=1 but no chromium found').toBeDefined();
    const page = await inspectPage(chromium!, join(dir, 'report.html'));
    expect(page.images.length).toBeGreaterThanOrEqual(6);
    for (const img of page.images) expect(img, img.src).toMatchObject({ complete: true, naturalWidth: expect.any(Number) });
    expect(page.images.filter((i) => i.naturalWidth === 0).map((i) => i.src)).toEqual([]);
    expect(page.chartPoints.length).toBeGreaterThanOrEqual(5);
    expect(page.chartPoints.every((n) => n > 0)).toBe(true);
    for (const href of page.links) expect(href).not.toMatch(/^(\/|[a-z]+:)/i);
    expect(page.text).toContain('SKIPPED');
  }, 90_000);
});
