#!/usr/bin/env node
// npm run bench:dispatch [-- --workers 1000 --procs 2 --seconds 20 --warmup 5 --exit-rule both]
//
// One dispatcher process (LMDB store in a temp dir, every state change committed before it is
// acted on) and --workers exercise workers spread over --procs swarm processes (`netlab worker
// --count N --time-scale 0`: tasks do not sleep). Measured over --seconds after --warmup:
// messages dispatched (attempts started), messages reported end to end (their batch's report
// committed: done or failed as not reported), finished (done + dead), commits, CPU of the
// dispatcher. --exit-rule on runs the workers as the exercise says (period > 900 ends the worker,
// which a swarm replaces with a new connection); off treats it as a panic (no reconnects), which
// isolates the dispatcher's steady state; both runs one after the other.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { StatsBody } from '../src/dispatch/protocol.ts';
import { cpuSeconds, freePort, loadAverage, metricSeries, metricSum, netlab, type RunningProcess, scrape, sleep } from './lib.ts';

const { values } = parseArgs({
  options: {
    workers: { type: 'string', default: '1000' },
    procs: { type: 'string', default: '2' },
    seconds: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '5' },
    'exit-rule': { type: 'string', default: 'both' },
    json: { type: 'string' },
  },
});
const WORKERS = Number(values.workers);
const PROCS = Number(values.procs);
const SECONDS = Number(values.seconds);
const WARMUP = Number(values.warmup);
const modes = values['exit-rule'] === 'both' ? ['on', 'off'] : [values['exit-rule']];

// Every process this bench starts is killed when it exits (startProcess, src/core/child-process.ts), a Ctrl-C included.
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130));

/** A netlab process keeping the last 4,000 characters of its output, for an error message. */
const start = (args: string[]): RunningProcess => netlab(args, { keepChars: 4000 });
const stop = (p: RunningProcess) => p.stop('SIGTERM', 15_000);
const cpuOf = (procs: RunningProcess[]) => cpuSeconds(procs.map((p) => p.pid));

interface Bucket {
  le: number;
  n: number;
}

async function metrics(url: string) {
  const text = await scrape(url);
  const buckets = (name: string): Bucket[] =>
    metricSeries(text, `${name}_bucket`).map((s) => ({ le: Number(/le="([^"]+)"/.exec(s.labels)?.[1]?.replace('+Inf', 'Infinity')), n: s.value }));
  return {
    attempts: metricSum(text, 'netlab_dispatch_attempts_total'),
    notReported: metricSum(text, 'netlab_dispatch_attempts_failed_total', 'reason="not-reported"'),
    done: metricSum(text, 'netlab_dispatch_messages_done_total'),
    commits: buckets('netlab_dispatch_commit_duration_seconds'),
  };
}

/** Percentile from the difference of two cumulative Prometheus histograms. */
function histPercentile(a: Bucket[], b: Bucket[], p: number): number {
  const diff = b.map((x, i) => ({ le: x.le, n: x.n - (a[i]?.n ?? 0) }));
  const total = diff.at(-1)?.n ?? 0;
  if (!total) return NaN;
  const hit = diff.find((x) => x.n >= total * p);
  return hit ? hit.le : Infinity;
}

async function run(exitRule: string) {
  const dir = await mkdtemp(join(tmpdir(), 'netlab-bench-dispatch-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const dispatcher = start(['dispatcher', '--host', '127.0.0.1', '--port', String(port), '--data', dir, '--backlog', '2000', '--log-level', 'warn']);
  await dispatcher.waitForHttp(`${url}/readyz`, 15_000).catch((err: unknown) => {
    throw new Error(`dispatcher did not start: ${dispatcher.output()}`, { cause: err });
  });
  const per = Math.ceil(WORKERS / PROCS);
  const swarms = Array.from({ length: PROCS }, (_, i) =>
    start(['worker', '--url', url, '--count', String(Math.min(per, WORKERS - i * per)), '--time-scale', '0', '--log-level', 'error', ...(exitRule === 'off' ? ['--no-exit-rule'] : [])]),
  );
  const stats = async () => (await (await fetch(`${url}/stats`)).json()) as StatsBody;
  // With the exit rule, workers keep leaving and coming back: half connected at once is "up".
  for (let i = 0; (await stats()).clients < WORKERS * (exitRule === 'on' ? 0.5 : 1); i++) {
    if (i > 600) throw new Error('workers did not connect');
    await sleep(100);
  }
  const connected = (await stats()).clients;
  await sleep(WARMUP * 1000);
  const s0 = await stats();
  const m0 = await metrics(url);
  const c0 = cpuOf([dispatcher]);
  const w0 = cpuOf(swarms);
  const t0 = performance.now();
  let minClients = Infinity;
  let maxClients = 0;
  while (performance.now() - t0 < SECONDS * 1000) {
    await sleep(500);
    const s = await stats();
    minClients = Math.min(minClients, s.clients);
    maxClients = Math.max(maxClients, s.clients);
  }
  const elapsed = (performance.now() - t0) / 1000;
  const s1 = await stats();
  const m1 = await metrics(url);
  const c1 = cpuOf([dispatcher]);
  const w1 = cpuOf(swarms);
  const load = loadAverage().split(' ')[0];
  await Promise.all(swarms.map(stop));
  await stop(dispatcher);
  await rm(dir, { recursive: true, force: true });
  const rate = (a: number, b: number) => Math.round((b - a) / elapsed);
  return {
    exitRule,
    workers: WORKERS,
    connectedAtStart: connected,
    clientsMinMax: [minClients, maxClients],
    seconds: Number(elapsed.toFixed(1)),
    dispatchedPerS: rate(m0.attempts, m1.attempts),
    reportedPerS: rate(m0.done + m0.notReported, m1.done + m1.notReported),
    donePerS: rate(s0.done, s1.done),
    finishedPerS: rate(s0.done + s0.dead, s1.done + s1.dead),
    generatedPerS: rate(s0.generated, s1.generated),
    commitP50Ms: histPercentile(m0.commits, m1.commits, 0.5) * 1000,
    commitP99Ms: histPercentile(m0.commits, m1.commits, 0.99) * 1000,
    dispatcherCpuCores: Number(((c1 - c0) / elapsed).toFixed(2)),
    workerCpuCores: Number(((w1 - w0) / elapsed).toFixed(2)),
    loadAverage: Number(load),
  };
}

console.log(`# dispatch bench: ${WORKERS} workers in ${PROCS} processes, time-scale 0, ${SECONDS}s after ${WARMUP}s warm-up; node ${process.version}, ${cpus().length} cores`);
const results = [];
for (const mode of modes) {
  const r = await run(mode);
  results.push(r);
  console.log(JSON.stringify(r));
}
console.log('\n| exit rule | connected | dispatched msg/s | reported msg/s | done msg/s | finished msg/s | commit p50 / p99 | CPU dispatcher / workers | load avg |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of results) {
  console.log(`| ${r.exitRule} | ${r.clientsMinMax.join('–')} | ${r.dispatchedPerS} | ${r.reportedPerS} | ${r.donePerS} | ${r.finishedPerS} | ≤${r.commitP50Ms} / ≤${r.commitP99Ms} ms | ${r.dispatcherCpuCores} / ${r.workerCpuCores} cores | ${r.loadAverage} |`);
}
if (values.json) await writeFile(values.json, JSON.stringify(results, null, 2) + '\n');
