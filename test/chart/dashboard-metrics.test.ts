/**
 * The Grafana dashboards of charts/netlab read only metrics the roles really export: each serving role
 * is started (no broker or database needed: tick and the messenger serve /metrics while they retry),
 * its /metrics scraped, and every PromQL query's metric names looked up in what was scraped. Where
 * Prometheus' promtool is installed, each scrape also goes through `promtool check metrics`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type NetlabProcess, startNetlab } from '../helpers/netlab-process.js';
import { CHART } from './helm.js';
import { dashboardQueries, exposedSampleNames, matcherValues, metricNames } from './promql.js';

const DASHBOARDS = join(CHART, 'dashboards');
const SCRAPE_TIMEOUT_MS = 20_000;
const SCRAPE_RETRY_MS = 100;

/**
 * promtool lint findings accepted, each with its reason: prom-client's default Node.js gauges end in
 * _total (upstream names, src/core), and the ping-pong server's gauge is the exercise's own "counter".
 */
const ACCEPTED_LINT = [/^netlab_nodejs_active_\w+_total non-counter metrics should not have "_total" suffix$/, /^netlab_pingpong_counter metric name should not include type 'counter'$/];

const scrapes = new Map<string, string>();
const processes: NetlabProcess[] = [];
let dir: string;

/** The body of the first 200 from `url`, polled until the process answers it. */
async function firstOk(url: string, role: string, proc: NetlabProcess): Promise<string> {
  const deadline = Date.now() + SCRAPE_TIMEOUT_MS;
  for (;;) {
    try {
      const res = await fetch(url);
      if (res.ok) return await res.text();
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline || proc.child.exitCode !== null) throw new Error(`no answer from ${role} at ${url}:\n${proc.output().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, SCRAPE_RETRY_MS));
  }
}

/**
 * Starts a role with its metrics server on a free port and scrapes it once: once `readyUrl` answers
 * where given (the metrics server is up while a role still opens its state, the dispatcher its store,
 * and the families of that state are registered on it once open).
 */
async function startAndScrape(role: string, args: string[], readyUrl?: string): Promise<void> {
  const metricsPort = await freePort();
  const proc = startNetlab([role, ...args, `--metrics-port=${metricsPort}`, '--metrics-host=127.0.0.1', '--log-level=warn']);
  processes.push(proc);
  if (readyUrl) await firstOk(readyUrl, role, proc);
  scrapes.set(role, await firstOk(`http://127.0.0.1:${metricsPort}/metrics`, role, proc));
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'netlab-dashboards-'));
  const [closed, dispatcherPort, pingpongPort, echoPort, messengerPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
  await Promise.all([
    // Nothing listens on `closed`: the messenger and tick serve metrics while they retry their backends.
    startAndScrape('messenger', [`--port=${messengerPort}`, '--host=127.0.0.1', `--database-url=postgres://netlab@127.0.0.1:${closed}/netlab`]),
    startAndScrape('tick', [`--bus=nats://127.0.0.1:${closed}`, '--print=none']),
    startAndScrape('dispatcher', [`--port=${dispatcherPort}`, '--host=127.0.0.1', `--data=${join(dir, 'dispatch')}`], `http://127.0.0.1:${dispatcherPort}/readyz`),
    startAndScrape('pingpong-server', [`--port=${pingpongPort}`, '--host=127.0.0.1', '--log=', '--quiet']),
    startAndScrape('echo-server', [`--port=${echoPort}`, '--host=127.0.0.1', '--model=loop']),
  ]);
  await Promise.all([
    // A swarm (--count 2) replaces workers that exit by the >900 rule, so the process stays up to be scraped.
    startAndScrape('worker', [`--url=http://127.0.0.1:${dispatcherPort}`, '--count=2', '--time-scale=0.01']),
    startAndScrape('pingpong-client', ['--host=127.0.0.1', `--port=${pingpongPort}`, '--log=']),
  ]);
});

afterAll(async () => {
  await Promise.all(processes.map((p) => p.stop('SIGTERM', 10_000)));
  rmSync(dir, { recursive: true, force: true });
});

const dashboards = readdirSync(DASHBOARDS).filter((f) => f.endsWith('.json'));
const queries = dashboards.flatMap((f) => dashboardQueries(f, JSON.parse(readFileSync(join(DASHBOARDS, f), 'utf8'))));

describe('PromQL metric names', () => {
  it('are found in selectors, not in functions, labels, ranges or variables', () => {
    const expr = 'histogram_quantile(0.99, sum by (le, bus) (rate(netlab_tick_dt_seconds_bucket{namespace=~"$namespace",role="tick"}[$__rate_interval])))';
    expect(metricNames(expr)).toEqual(['netlab_tick_dt_seconds_bucket']);
    expect(metricNames('sum(rate(a_sum[5m])) / sum(rate(a_count[5m])) > bool 0 and on (pod) up')).toEqual(['a_count', 'a_sum', 'up']);
    expect(metricNames('max without (instance) (label_replace(x, "dst", "$1", "src", "(.*)"))')).toEqual(['x']);
    expect([...exposedSampleNames('# TYPE h histogram\n# TYPE c counter\n')].sort()).toEqual(['c', 'h', 'h_bucket', 'h_count', 'h_sum']);
  });
});

describe('Grafana dashboards', () => {
  it('are an overview and one per role group, each with queries', () => {
    expect(dashboards.sort()).toEqual(['dispatcher.json', 'echo.json', 'messenger.json', 'overview.json', 'pingpong.json', 'tick.json']);
    for (const file of dashboards) expect(queries.filter((q) => q.dashboard === file).length, file).toBeGreaterThan(3);
  });

  it('query only metrics that the roles export', () => {
    const exported = new Set([...scrapes.values()].flatMap((text) => [...exposedSampleNames(text)]));
    expect(exported.size).toBeGreaterThan(100);
    const unknown: string[] = [];
    for (const q of queries) {
      const names = metricNames(q.expr);
      if (names.length === 0) unknown.push(`${q.dashboard} "${q.panel}": no metric in ${q.expr}`);
      for (const name of names) if (!exported.has(name)) unknown.push(`${q.dashboard} "${q.panel}": ${name}`);
    }
    expect(unknown).toEqual([]);
  });

  it('use only role label values that are real roles, and every role\'s own metrics', () => {
    const roles = new Set(scrapes.keys());
    const bad = queries.flatMap((q) => matcherValues(q.expr, 'role').filter((r) => !roles.has(r)).map((r) => `${q.dashboard} "${q.panel}": role="${r}"`));
    expect(bad).toEqual([]);
    const used = new Set(queries.flatMap((q) => metricNames(q.expr)));
    // Each role's own metrics (not the shared process/nodejs/http ones) appear on some dashboard.
    for (const [role, text] of scrapes) {
      const own = [...exposedSampleNames(text)].filter((n) => !/^netlab_(process|nodejs|http)_/.test(n));
      expect(own.some((n) => used.has(n)), `no dashboard shows a metric of ${role}`).toBe(true);
    }
  });

  it('scrapes that pass promtool check metrics (skipped when promtool is not installed)', () => {
    const version = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
    if (version.error) {
      console.log('[chart tests] promtool not installed (apt-get install prometheus): skipping `promtool check metrics`');
      return;
    }
    const problems: string[] = [];
    for (const [role, text] of scrapes) {
      const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      const lines = `${result.stdout}\n${result.stderr}`.split('\n').map((l) => l.trim()).filter(Boolean);
      // Exit 1 is a format error; 3 means lint findings, judged line by line.
      if (result.status !== 0 && result.status !== 3) problems.push(`${role}: promtool exit ${result.status}: ${lines.join(' | ')}`);
      for (const line of lines) if (!ACCEPTED_LINT.some((re) => re.test(line))) problems.push(`${role}: ${line}`);
    }
    expect(problems).toEqual([]);
  });
});
