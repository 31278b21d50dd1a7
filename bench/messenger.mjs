// npm run bench:messenger — the seed workload (50 workers x 100 requests) and a 500-client variant
// against 1, 2 and 4 messenger replicas on one PostgreSQL, every run checked with --verify.
// Usage: node bench/messenger.mjs [--quick] [--no-write]
// DATABASE_URL unset: a fresh embedded PostgreSQL in a temporary directory.
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { startEmbeddedPostgres } from '../dist/core/embedded-postgres.js';
import { cpuSeconds, loadAverage, machine, netlab, pidsOf, waitHttp, writeSection } from './lib.mjs';

const quick = process.argv.includes('--quick');
const write = !process.argv.includes('--no-write');
const BASE_PORT = 18180;

const CELLS = [
  { replicas: 1, workers: 50, requests: 100 },
  { replicas: 2, workers: 50, requests: 100 },
  { replicas: 4, workers: 50, requests: 100 },
  { replicas: 1, workers: 500, requests: 20 },
  { replicas: 2, workers: 500, requests: 20 },
  { replicas: 4, workers: 500, requests: 20 },
  { replicas: 2, workers: 50, requests: 100, flags: ['--max-batch', '1', '--write-concurrency', '1'], note: 'no grouping (one message per database call)' },
];

let dir;
let embedded;
let databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  dir = mkdtempSync(join(tmpdir(), 'netlab-bench-pg-'));
  chmodSync(dir, 0o755);
  embedded = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), port: 54400, logger: pino({ level: 'warn' }) });
  databaseUrl = embedded.url;
}

async function resetTables() {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  await client.query("SELECT to_regclass('messages') AS t").then(async ({ rows }) => {
    if (rows[0].t) await client.query("TRUNCATE messages, sender_counters; UPDATE message_clock SET last_seq = 0, last_sent_at = '-infinity'");
  });
  await client.end();
}

async function runCell(cell) {
  await resetTables();
  const urls = [];
  const servers = [];
  for (let i = 0; i < cell.replicas; i++) {
    const port = BASE_PORT + i;
    servers.push(netlab(['messenger', '--port', String(port), ...(cell.flags ?? [])], { env: { DATABASE_URL: databaseUrl } }));
    urls.push(`http://127.0.0.1:${port}`);
  }
  await Promise.all(urls.map((u) => waitHttp(`${u}/readyz`)));
  const urlArgs = urls.flatMap((u) => ['--url', u]);
  // Warm-up: JIT and connection pools, not measured.
  await netlab(['messenger-bench', ...urlArgs, '--workers', String(cell.workers), '--requests', '10']).done;

  const serverPids = servers.map((s) => s.pid);
  const pgPids = pidsOf('postgres');
  const cpu0 = { server: cpuSeconds(serverPids), pg: cpuSeconds(pgPids) };
  const jsonFile = join(tmpdir(), `netlab-bench-${process.pid}.json`);
  const bench = netlab(['messenger-bench', ...urlArgs, '--workers', String(cell.workers), '--requests', String(quick ? 20 : cell.requests), '--verify', '--json', jsonFile]);
  const code = await bench.done;
  const benchCpu = cpuSeconds([bench.pid]); // gone by now: measured below from the JSON's own clock instead
  const cpu1 = { server: cpuSeconds(serverPids), pg: cpuSeconds(pidsOf('postgres')) };
  await Promise.all(servers.map((s) => (s.kill('SIGTERM'), s.done)));
  if (code !== 0) throw new Error(`bench failed (exit ${code}):\n${bench.output()}`);
  const r = JSON.parse(readFileSync(jsonFile, 'utf8'));
  rmSync(jsonFile, { force: true });
  void benchCpu;
  return { ...cell, r, cpuServerMs: ((cpu1.server - cpu0.server) * 1000) / r.ok, cpuPgMs: ((cpu1.pg - cpu0.pg) * 1000) / r.ok };
}

const rows = [];
const load = loadAverage();
try {
  for (const cell of CELLS) {
    const result = await runCell(cell);
    const l = result.r.latencyMs;
    const line = `| ${cell.replicas} | ${cell.workers} x ${quick ? 20 : cell.requests} | ${result.r.throughput.toFixed(0)} | ${l.p50.toFixed(1)} | ${l.p95.toFixed(1)} | ${l.p99.toFixed(1)} | ${l.max.toFixed(1)} | ${result.r.verify.violations} | ${result.cpuServerMs.toFixed(3)} | ${result.cpuPgMs.toFixed(3)} | ${cell.note ?? ''} |`;
    console.log(line);
    rows.push(line);
  }
} finally {
  await embedded?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}

const body = `
Command: \`npm run bench:messenger\` (\`node bench/messenger.mjs\`${quick ? ' --quick' : ''}), ${new Date().toISOString().slice(0, 10)}.
Machine: ${machine()}. Load average before the run: ${load}.
PostgreSQL: ${process.env.DATABASE_URL ? 'DATABASE_URL' : 'embedded (PostgreSQL 18, fresh data directory, default settings: fsync and synchronous_commit on)'}.
Replicas, bench client and PostgreSQL all share the machine's cores. Each cell starts fresh replicas on empty tables, warms up with 10 requests per worker, then runs the
bench with \`--verify\` (the four properties checked over every response; "violations" must be 0).
CPU columns are CPU milliseconds per answered request, sampled from /proc: all replicas together, and all PostgreSQL processes of the machine.

| replicas | workers x requests | req/s | p50 ms | p95 ms | p99 ms | max ms | violations | replica CPU ms/req | PostgreSQL CPU ms/req | note |
|---|---|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}
`;
if (write) writeSection('Messenger', body);
console.log(body);
