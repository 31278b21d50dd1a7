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
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
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

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const freePort = () =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const children = new Set();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

function start(args) {
  const child = spawn(process.execPath, [MAIN, ...args], { env: { ...process.env, METRICS_PORT: '0' }, stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let err = '';
  child.stderr.on('data', (c) => (err = (err + c).slice(-4000)));
  child.errText = () => err;
  return child;
}

const stop = (child) =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });

async function cpuSeconds(pid) {
  const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 1/100 s
}

async function metrics(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const get = (re) => {
    let sum = 0;
    for (const line of text.split('\n')) if (re.test(line)) sum += Number(line.split(' ').at(-1));
    return sum;
  };
  const buckets = (name) =>
    text
      .split('\n')
      .filter((l) => l.startsWith(`${name}_bucket`))
      .map((l) => ({ le: Number(/le="([^"]+)"/.exec(l)[1].replace('+Inf', 'Infinity')), n: Number(l.split(' ').at(-1)) }));
  return {
    attempts: get(/^netlab_dispatch_attempts_total\b/),
    notReported: get(/^netlab_dispatch_attempts_failed_total\{.*reason="not-reported"/),
    done: get(/^netlab_dispatch_messages_done_total\b/),
    commits: buckets('netlab_dispatch_commit_duration_seconds'),
    reportLatency: buckets('netlab_dispatch_report_latency_seconds').filter(() => true),
    text,
  };
}

/** Percentile from the difference of two cumulative Prometheus histograms. */
function histPercentile(a, b, p) {
  const diff = b.map((x, i) => ({ le: x.le, n: x.n - (a[i]?.n ?? 0) }));
  const total = diff.at(-1)?.n ?? 0;
  if (!total) return NaN;
  const hit = diff.find((x) => x.n >= total * p);
  return hit ? hit.le : Infinity;
}

async function run(exitRule) {
  const dir = await mkdtemp(join(tmpdir(), 'netlab-bench-dispatch-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const dispatcher = start(['dispatcher', '--host', '127.0.0.1', '--port', String(port), '--data', dir, '--backlog', '2000', '--log-level', 'warn']);
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${url}/readyz`)).ok) break;
    } catch {}
    if (i > 200) throw new Error(`dispatcher did not start: ${dispatcher.errText()}`);
    await sleep(50);
  }
  const per = Math.ceil(WORKERS / PROCS);
  const swarms = Array.from({ length: PROCS }, (_, i) =>
    start(['worker', '--url', url, '--count', String(Math.min(per, WORKERS - i * per)), '--time-scale', '0', '--log-level', 'error', ...(exitRule === 'off' ? ['--no-exit-rule'] : [])]),
  );
  const stats = async () => (await fetch(`${url}/stats`)).json();
  // With the exit rule, workers keep leaving and coming back: half connected at once is "up".
  for (let i = 0; (await stats()).clients < WORKERS * (exitRule === 'on' ? 0.5 : 1); i++) {
    if (i > 600) throw new Error('workers did not connect');
    await sleep(100);
  }
  const connected = (await stats()).clients;
  await sleep(WARMUP * 1000);
  const s0 = await stats();
  const m0 = await metrics(url);
  const c0 = await cpuSeconds(dispatcher.pid);
  const w0 = (await Promise.all(swarms.map((w) => cpuSeconds(w.pid)))).reduce((a, b) => a + b, 0);
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
  const c1 = await cpuSeconds(dispatcher.pid);
  const w1 = (await Promise.all(swarms.map((w) => cpuSeconds(w.pid)))).reduce((a, b) => a + b, 0);
  const load = (await readFile('/proc/loadavg', 'utf8')).split(' ')[0];
  await Promise.all(swarms.map(stop));
  await stop(dispatcher);
  await rm(dir, { recursive: true, force: true });
  const rate = (a, b) => Math.round((b - a) / elapsed);
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
if (values.json) await (await import('node:fs/promises')).writeFile(values.json, JSON.stringify(results, null, 2) + '\n');
