// npm run bench:messenger — the seed workload (50 workers x 100 requests) and a 500-client variant
// against 1, 2 and 4 messenger replicas on one PostgreSQL, every run checked with --verify.
// Usage: node bench/messenger.ts [--quick] [--no-write]
// DATABASE_URL unset: a fresh embedded PostgreSQL in a temporary directory.
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import type { EmbeddedPostgres } from '../src/core/embedded-postgres.ts';
import type { BenchResult } from '../src/messenger/bench-client.ts';
import { build, busyShare, cpuSeconds, freePort, loadAverage, machine, machineTicks, type MachineTicks, metricValue, netlab, pidsOf, type RunningProcess, scrape, sleep, writeSection } from './lib.ts';

const { startEmbeddedPostgres } = await build('core/embedded-postgres.js');

const quick = process.argv.includes('--quick');
const write = !process.argv.includes('--no-write');
const BASE_PORT = 18180;
/** Each cell runs this many times; the table shows the run with the median throughput (this VM is noisy). */
const RUNS = quick ? 1 : 3;
const WARMUP_REQUESTS = 3000;

interface Cell {
  replicas: number;
  workers: number;
  requests: number;
  flags?: string[];
  note?: string;
}

const CELLS: Cell[] = [
  { replicas: 1, workers: 50, requests: 100 },
  { replicas: 2, workers: 50, requests: 100 },
  { replicas: 4, workers: 50, requests: 100 },
  { replicas: 1, workers: 500, requests: 40 },
  { replicas: 2, workers: 500, requests: 40 },
  { replicas: 4, workers: 500, requests: 40 },
  { replicas: 2, workers: 50, requests: 100, flags: ['--max-batch', '1', '--write-concurrency', '1'], note: 'no grouping (one message per database call)' },
];

let dir: string | undefined;
let embedded: EmbeddedPostgres | undefined;
let databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  dir = mkdtempSync(join(tmpdir(), 'netlab-bench-pg-'));
  chmodSync(dir, 0o755);
  embedded = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), port: await freePort(), logger: pino({ level: 'warn' }) });
  databaseUrl = embedded.url;
}

async function resetTables() {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  await client.query<{ t: string | null }>("SELECT to_regclass('messages') AS t").then(async ({ rows }) => {
    if (rows[0]?.t) await client.query("TRUNCATE messages, sender_counters; UPDATE message_clock SET last_seq = 0, last_sent_at = '-infinity'");
  });
  await client.end();
}

/** Messages stored so far by the replicas, from their /metrics. */
async function storedCount(urls: string[]): Promise<number> {
  let total = 0;
  for (const url of urls) total += metricValue(await scrape(url), 'netlab_messenger_messages_stored_total') || 0;
  return total;
}

interface Run {
  r: BenchResult;
  cpuServerMs: number;
  cpuPgMs: number;
  busy: number;
}

async function runCell(cell: Cell) {
  await resetTables();
  const urls: string[] = [];
  const servers: RunningProcess[] = [];
  for (let i = 0; i < cell.replicas; i++) {
    const port = BASE_PORT + i;
    servers.push(netlab(['messenger', '--port', String(port), ...(cell.flags ?? [])], { env: { DATABASE_URL: databaseUrl } }));
    urls.push(`http://127.0.0.1:${port}`);
  }
  await Promise.all(urls.map((u, i) => servers[i]!.waitForHttp(`${u}/readyz`, 30_000)));
  const urlArgs = urls.flatMap((u) => ['--url', u]);
  // Warm-up, not measured: connection pools, and enough requests (about 3,000) for the JIT to have
  // optimized the hot path; with 500 the first measured run still paid for compilation.
  await netlab(['messenger-bench', ...urlArgs, '--workers', String(cell.workers), '--requests', String(Math.ceil(WARMUP_REQUESTS / cell.workers))]).exited;

  const serverPids = servers.map((s) => s.pid);
  const runs: Run[] = [];
  for (let run = 0; run < RUNS; run++) {
    const cpu0 = { server: cpuSeconds(serverPids), pg: cpuSeconds(pidsOf('postgres')) };
    const jsonFile = join(tmpdir(), `netlab-bench-${process.pid}.json`);
    const storedBefore = await storedCount(urls);
    const bench = netlab(['messenger-bench', ...urlArgs, '--workers', String(cell.workers), '--requests', String(quick ? 20 : cell.requests), '--verify', '--json', jsonFile]);
    // The machine's busy share is taken from the first stored message on, not from the bench client's start.
    while (!bench.done && (await storedCount(urls)) === storedBefore) await sleep(5);
    const machine0: MachineTicks = machineTicks();
    const code = await bench.exited;
    const cpu1 = { server: cpuSeconds(serverPids), pg: cpuSeconds(pidsOf('postgres')), machine: machineTicks() };
    if (code !== 0) throw new Error(`bench failed (exit ${code}):\n${bench.output()}`);
    const r = JSON.parse(readFileSync(jsonFile, 'utf8')) as BenchResult;
    rmSync(jsonFile, { force: true });
    runs.push({ r, cpuServerMs: ((cpu1.server - cpu0.server) * 1000) / r.ok, cpuPgMs: ((cpu1.pg - cpu0.pg) * 1000) / r.ok, busy: busyShare(machine0, cpu1.machine) });
  }
  await Promise.all(servers.map((s) => s.stop('SIGTERM')));
  runs.sort((a, b) => a.r.throughput - b.r.throughput);
  const median = runs[Math.floor(runs.length / 2)]!;
  return { ...cell, ...median, all: runs.map((x) => Math.round(x.r.throughput)) };
}

const rows: string[] = [];
const load = loadAverage();
try {
  for (const cell of CELLS) {
    const result = await runCell(cell);
    const l = result.r.latencyMs;
    const line = `| ${cell.replicas} | ${cell.workers} x ${quick ? 20 : cell.requests} | ${result.r.throughput.toFixed(0)} | ${l.p50.toFixed(1)} | ${l.p95.toFixed(1)} | ${l.p99.toFixed(1)} | ${l.max.toFixed(1)} | ${result.r.verify!.violations} | ${result.cpuServerMs.toFixed(3)} | ${result.cpuPgMs.toFixed(3)} | ${(result.busy * 100).toFixed(0)}% | ${result.all.join(' / ')} | ${cell.note ?? ''} |`;
    console.log(line);
    rows.push(line);
  }
} finally {
  await embedded?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}

const body = `
Command: \`npm run bench:messenger\` (\`node bench/messenger.ts\`${quick ? ' --quick' : ''}), ${new Date().toISOString().slice(0, 10)}.
Machine: ${machine()}. Load average before the run: ${load}.
PostgreSQL: ${process.env.DATABASE_URL ? 'DATABASE_URL' : 'embedded (PostgreSQL 18, fresh data directory, default settings: fsync and synchronous_commit on)'}.
Replicas, bench client and PostgreSQL all share the machine's cores. Each cell starts fresh replicas on empty tables, warms up with about 3,000 requests, then runs the
bench with \`--verify\` ${RUNS} times (the four properties checked over every response; "violations" must be 0);
the row shows the run with the median throughput, the last columns every run's throughput.
CPU columns are CPU milliseconds per answered request, sampled from /proc: all replicas together, and all PostgreSQL processes of the machine;
"machine busy" is the share of both cores' time that was not idle from the first stored message to the bench client's exit (everything: replicas, PostgreSQL, the bench client, the kernel).

| replicas | workers x requests | req/s | p50 ms | p95 ms | p99 ms | max ms | violations | replica CPU ms/req | PostgreSQL CPU ms/req | machine busy | req/s of each run | note |
|---|---|---|---|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

Reading it: the target for the seed workload (2 replicas, 50 x 100) is at least 5,000 req/s with p99 under
50 ms and no violation; the design that runs one transaction per request under one lock answers about 450
req/s here, and the last row (this server with grouping switched off) shows what grouping is worth. More
clients raise throughput at every replica count: groups grow with load, and PostgreSQL's CPU per message
falls. More replicas do not, on this machine: every process of the experiment shares the same 2 cores, and
with one replica they are already 76-82% busy ("machine busy"). A replica adds no CPU here, only a process
competing for it; the one ordering lock then changes hands between more, smaller groups, and a backend
holding it is more often preempted. Reading the windows after the lock is released (see
docs/architecture.md) halved that cost at 4 replicas, but the trend stays downward until replicas run on
cores of their own, which this machine does not have.
`;
if (write) writeSection('Messenger', body);
console.log(body);
