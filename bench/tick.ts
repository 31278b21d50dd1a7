// npm run bench:tick — netlab tick pairs against the "floor" (two bare clients of the same libraries
// in one process, the same ticks, nothing else), on both buses, at several rates each way. Writes the
// "## Tick" section of docs/benchmarks.md and docs/tick-dt.png (dt distributions).
//
// Knobs (env): TICK_BENCH_SECONDS (per cell, default 30), TICK_BENCH_WARMUP (default 2), TICK_BENCH_RATES (default 100,500,1000),
// NATS_URL, AMQP_URL, TICK_BENCH_NO_WRITE=1 (print only).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect as natsConnect } from '@nats-io/transport-node';
import amqp from 'amqplib';
import type { ChartSpec } from '../src/core/charts.ts';
import type { TickRunResult } from '../src/tick/run-result.ts';
import { build, cpuSeconds, loadAverage, machine, netlab, ROOT, sleep, writeSection } from './lib.ts';

const { renderSvg, svgToPng } = await build('core/charts.js');
const { histogram, percentile } = await build('core/latency-stats.js');
const { noBrokerMessage, probeBroker } = await build('tick/broker-probe.js');
const { DT_BUCKETS_US } = await build('tick/tick-stats.js');

const SECONDS = Number(process.env.TICK_BENCH_SECONDS || 30);
/** Before each measured cell: process start, JIT and connection set-up, left out of every number. */
const WARMUP_SECONDS = Number(process.env.TICK_BENCH_WARMUP || 2);
const RATES = (process.env.TICK_BENCH_RATES || '100,500,1000').split(',').map(Number);
/** Rates at which the floor also runs as two processes (netlab's topology); 100/s is where the targets are. */
const TWO_PROCESS_FLOOR_RATES = (process.env.TICK_BENCH_TWO_PROCESS_RATES || '100').split(',').map(Number);
type BusKind = 'nats' | 'amqp';
interface BusUnderTest {
  kind: BusKind;
  url: string;
}
const BUSES: BusUnderTest[] = [
  { kind: 'nats', url: process.env.NATS_URL || 'nats://127.0.0.1:4222' },
  { kind: 'amqp', url: process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672' },
];
const EXCHANGE = 'netlab.ticks';
const nowUs = () => Math.round((performance.timeOrigin + performance.now()) * 1000);
const fmtT = (us: number) => `${Math.floor(us / 1e6)}.${String(us % 1e6).padStart(6, '0')}`;
const log = (line: string) => process.stderr.write(`[bench:tick] ${line}\n`);

function sampleSummary(values: number[]) {
  const sorted = Float64Array.from(values).sort();
  return { count: sorted.length, p50: Math.round(percentile(sorted, 50)), p99: Math.round(percentile(sorted, 99)), max: sorted.length ? Math.round(sorted[sorted.length - 1]!) : 0 };
}

// ---- the floor: two bare clients in this process --------------------------------------------

/** A bare bus client: connect, publish(key, bytes), subscribe(key, fn(bytes)), close. */
interface BareClient {
  publish(key: string, bytes: Uint8Array): void;
  subscribe(key: string, fn: (bytes: Uint8Array) => void): Promise<void>;
  close(): Promise<void>;
}

async function bareNats(url: string): Promise<BareClient> {
  const u = new URL(url);
  const nc = await natsConnect({ servers: `${u.hostname}:${u.port || 4222}` });
  return {
    publish: (key, bytes) => nc.publish(`floor.${key}`, bytes),
    subscribe: async (key, fn) => {
      nc.subscribe(`floor.${key}`, { callback: (err, msg) => void (!err && fn(msg.data)) });
      await nc.flush();
    },
    close: () => nc.close(),
  };
}

async function bareAmqp(url: string): Promise<BareClient> {
  const conn = await amqp.connect(url, { noDelay: true });
  const ch = await conn.createChannel();
  await ch.assertExchange(EXCHANGE, 'topic', { durable: false, autoDelete: false });
  const { queue } = await ch.assertQueue('', { exclusive: true, autoDelete: true, durable: false });
  return {
    publish: (key, bytes) => ch.publish(EXCHANGE, `floor.${key}`, Buffer.from(bytes)),
    subscribe: async (key, fn) => {
      await ch.bindQueue(queue, EXCHANGE, `floor.${key}`);
      await ch.consume(queue, (m) => m && fn(m.content), { noAck: true });
    },
    close: () => conn.close(),
  };
}

/**
 * One bare app: subscribes to the peer's key; `start(window)` then sends a tick every period from
 * `startUs` to `endUs` on a plain absolute-schedule timer (the tick taken when the timer fires);
 * `run` settles when done. Samples before `measureFromUs` (the warm-up) are left out.
 */
interface FloorAppOptions {
  name: string;
  peer: string;
  channel: string;
  rate: number;
}
/** The measured part of a run: the ticks go out from startUs to endUs; samples count from measureFromUs. */
interface FloorWindow {
  startUs: number;
  endUs: number;
  measureFromUs: number;
}
/** What one bare app measured (what a --floor-app child prints). */
interface FloorResult {
  dt: number[];
  jitter: number[];
  sent: number;
  received: number;
  minSeq: number;
  maxSeq: number;
}
interface FloorApp extends FloorResult {
  last: { seq: number; t: number; at: number } | undefined;
  start(window: FloorWindow): void;
  run?: Promise<void>;
}

async function floorApp(client: BareClient, { name, peer, channel, rate }: FloorAppOptions): Promise<FloorApp> {
  const me: FloorApp = { dt: [], jitter: [], sent: 0, received: 0, minSeq: Infinity, maxSeq: -1, last: undefined, start: () => {} };
  const periodUs = 1e6 / rate;
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let measureFromUs = Infinity;
  await client.subscribe(`${channel}.${peer}`, (bytes) => {
    const now = nowUs();
    const tick = JSON.parse(decoder.decode(bytes)) as { seq: number; t: number };
    if (now >= measureFromUs) me.dt.push(now - Math.round(tick.t * 1e6));
    me.received++;
    me.minSeq = Math.min(me.minSeq, tick.seq);
    me.maxSeq = Math.max(me.maxSeq, tick.seq);
    me.last = { seq: tick.seq, t: tick.t, at: now };
  });
  me.start = ({ startUs, endUs, measureFromUs: from }) => {
    measureFromUs = from;
    me.run = new Promise<void>((resolve) => {
      let k = 0;
      const step = () => {
        // Every tick due by now goes out (a timer wakes at most once per ms: 1000/s needs catching up).
        for (let now = nowUs(); startUs + k * periodUs <= now; now = nowUs()) {
          if (now >= endUs) return resolve();
          if (now >= measureFromUs) me.jitter.push(now - (startUs + k * periodUs));
          const echo = me.last ? `,"echo_seq":${me.last.seq},"echo_t":${me.last.t},"echo_age_us":${now - me.last.at}` : '';
          client.publish(`${channel}.${name}`, encoder.encode(`{"src":"${name}","seq":${k},"t":${fmtT(now)},"boot":"00000000"${echo}}`));
          me.sent++;
          k++;
        }
        if (nowUs() >= endUs) return resolve();
        setTimeout(step, Math.max(0, (startUs + k * periodUs - nowUs()) / 1000));
      };
      setTimeout(step, Math.max(0, (startUs - nowUs()) / 1000));
    });
  };
  return me;
}

const openBare = (kind: BusKind, url: string) => (kind === 'nats' ? bareNats(url) : bareAmqp(url));

/** Two floor apps' results → one table row; cpuSeconds is both apps' CPU over the measured part. */
interface Row {
  impl: string;
  dtP50: number;
  dtP99: number;
  dtMax: number;
  rttHalfP50: number | undefined;
  jitterP99: number;
  lost: number;
  received: number;
  drift?: number;
  cpuPercent: number;
  buckets: { le: number | null; count: number }[];
}

function floorRow(impl: string, a: FloorResult, b: FloorResult, cpuSeconds: number, seconds: number): Row {
  // Lost: gaps between the first and last seq received (a process that started late missed the first ones: not loss).
  const directions = [a, b].map((me) => ({ dt: sampleSummary(me.dt), jitter: sampleSummary(me.jitter), lost: me.received ? me.maxSeq - me.minSeq + 1 - me.received : 0, buckets: histogram(me.dt, DT_BUCKETS_US) }));
  return {
    impl,
    dtP50: Math.max(...directions.map((d) => d.dt.p50)),
    dtP99: Math.max(...directions.map((d) => d.dt.p99)),
    dtMax: Math.max(...directions.map((d) => d.dt.max)),
    rttHalfP50: undefined,
    jitterP99: Math.max(...directions.map((d) => d.jitter.p99)),
    lost: directions.reduce((s, d) => s + d.lost, 0),
    received: a.dt.length + b.dt.length,
    cpuPercent: (cpuSeconds / seconds / 2) * 100,
    buckets: directions[0]!.buckets.map((bk, i) => ({ le: bk.le, count: bk.count + directions[1]!.buckets[i]!.count })),
  };
}

/** The floor as the issue defines it: both bare clients in this one process. */
async function runFloor(bus: BusUnderTest, rate: number, seconds: number): Promise<Row> {
  const [c1, c2] = await Promise.all([openBare(bus.kind, bus.url), openBare(bus.kind, bus.url)]);
  const channel = `fl${Math.random().toString(36).slice(2, 8)}`;
  const startUs = nowUs() + 5000;
  const window = { startUs, measureFromUs: startUs + WARMUP_SECONDS * 1e6, endUs: startUs + (WARMUP_SECONDS + seconds) * 1e6 };
  const a = await floorApp(c1, { channel, rate, name: 'app1', peer: 'app2' });
  const b = await floorApp(c2, { channel, rate, name: 'app2', peer: 'app1' });
  a.start(window);
  b.start(window);
  await sleep((window.measureFromUs - nowUs()) / 1000);
  const cpu0 = process.cpuUsage();
  await Promise.all([a.run, b.run]);
  const cpu = process.cpuUsage(cpu0);
  await sleep(200);
  await Promise.all([c1.close(), c2.close()]);
  return floorRow('floor', a, b, (cpu.user + cpu.system) / 1e6, seconds);
}

/**
 * The same bare apps, one per process (the topology netlab runs in): this script re-run with
 * --floor-app. Each child connects and subscribes, says "ready", and waits for the start time on
 * stdin, so a slow process start cannot eat into the measured window.
 */
async function runFloorTwoProcesses(bus: BusUnderTest, rate: number, seconds: number): Promise<Row> {
  const channel = `f2${Math.random().toString(36).slice(2, 8)}`;
  const children = ['app1', 'app2'].map((name) => {
    const peer = name === 'app1' ? 'app2' : 'app1';
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--floor-app', JSON.stringify({ kind: bus.kind, url: bus.url, name, peer, channel, rate })], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    const ready = new Promise<void>((resolve) => child.stdout.on('data', (c: Buffer) => ((out += c), out.startsWith('ready\n') && resolve())));
    const result = new Promise<FloorResult & { cpuSeconds: number }>((resolve, reject) =>
      child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out.slice('ready\n'.length)) as FloorResult & { cpuSeconds: number }) : reject(new Error(`floor app ${name} exited with ${code}`)))),
    );
    return { child, ready, result };
  });
  await Promise.all(children.map((c) => c.ready));
  const startUs = nowUs() + 5000;
  const window = { startUs, measureFromUs: startUs + WARMUP_SECONDS * 1e6, endUs: startUs + (WARMUP_SECONDS + seconds) * 1e6 };
  for (const { child } of children) child.stdin.end(JSON.stringify(window));
  const [a, b] = (await Promise.all(children.map((c) => c.result))) as [FloorResult & { cpuSeconds: number }, FloorResult & { cpuSeconds: number }];
  return floorRow('floor, 2 processes', a, b, a.cpuSeconds + b.cpuSeconds, seconds);
}

if (process.argv[2] === '--floor-app') {
  const o = JSON.parse(process.argv[3]!) as FloorAppOptions & BusUnderTest;
  const client = await openBare(o.kind, o.url);
  const me = await floorApp(client, o);
  process.stdout.write('ready\n');
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  const window = JSON.parse(input) as FloorWindow;
  me.start(window);
  await sleep((window.measureFromUs - nowUs()) / 1000);
  const cpu0 = process.cpuUsage();
  await me.run;
  const cpu = process.cpuUsage(cpu0);
  await sleep(300);
  await client.close();
  process.stdout.write(JSON.stringify({ dt: me.dt, jitter: me.jitter, sent: me.sent, received: me.received, minSeq: me.minSeq, maxSeq: me.maxSeq, cpuSeconds: (cpu.user + cpu.system) / 1e6 }));
  process.exit(0);
}

// ---- netlab: two `netlab tick` processes ----------------------------------------------------

async function runNetlab(bus: BusUnderTest, rate: number, seconds: number, dir: string): Promise<Row> {
  const channel = `bench${Math.random().toString(36).slice(2, 8)}`;
  const files = { app1: join(dir, `${bus.kind}-${rate}-app1.json`), app2: join(dir, `${bus.kind}-${rate}-app2.json`) };
  const common = ['--bus', bus.url, '--rate', String(rate), '--print', 'summary', '--channel', channel];
  const totalMs = (WARMUP_SECONDS + seconds) * 1000;
  // app1 starts first and runs 300 ms longer, so app2 hears it for the whole of its run.
  const app1 = netlab(['tick', '--name', 'app1', '--peer', 'app2', ...common, '--duration', `${totalMs + 300}ms`, '--warmup', `${WARMUP_SECONDS * 1000 + 300}ms`, '--json', files.app1]);
  await sleep(300);
  const app2 = netlab(['tick', '--name', 'app2', '--peer', 'app1', ...common, '--duration', `${totalMs}ms`, '--warmup', `${WARMUP_SECONDS}s`, '--json', files.app2]);
  await sleep(WARMUP_SECONDS * 1000);
  const cpu0 = cpuSeconds([app1.pid, app2.pid]);
  const cpuStart = performance.now();
  await sleep(seconds * 1000 - 300);
  const cpu = cpuSeconds([app1.pid, app2.pid]) - cpu0;
  const cpuElapsed = (performance.now() - cpuStart) / 1000;
  const codes = await Promise.all([app1.exited, app2.exited]);
  if (codes.some((c) => c !== 0)) throw new Error(`netlab tick exited with ${codes}: ${app1.output().slice(-500)} ${app2.output().slice(-500)}`);
  const [r1, r2] = [files.app1, files.app2].map((f) => JSON.parse(readFileSync(f, 'utf8')) as TickRunResult) as [TickRunResult, TickRunResult];
  const both = [r1, r2];
  return {
    impl: 'netlab',
    dtP50: Math.max(...both.map((r) => r.dt_us.p50)),
    dtP99: Math.max(...both.map((r) => r.dt_us.p99)),
    dtMax: Math.max(...both.map((r) => r.dt_us.max)),
    rttHalfP50: Math.max(...both.map((r) => r.rtt_half_us.p50)),
    jitterP99: Math.max(...both.map((r) => r.jitter_us.p99)),
    lost: both.reduce((s, r) => s + r.lost + r.unpublished - r.unpublished_before_connect + r.skipped, 0),
    received: r1.received + r2.received,
    drift: Math.max(...both.map((r) => Math.abs(r.drift_ticks))),
    cpuPercent: (cpu / cpuElapsed / 2) * 100,
    buckets: r1.dt_buckets_us.map((b, i) => ({ le: b.le, count: b.count + r2.dt_buckets_us[i]!.count })),
  };
}

// ---- the machine's own pauses ---------------------------------------------------------------

/**
 * A process that never sleeps, reading the clock in a loop for `seconds`: every gap over 1 ms is a
 * moment the machine (this VM's host, the kernel) did not run it. Timer lateness cannot be better
 * than this, whatever the timer; it runs alone, before and after the cells.
 */
interface Stalls {
  seconds: number;
  count: number;
  maxMs: number;
  totalMs: number;
}

function stallProbe(seconds: number): Promise<Stalls> {
  const code = `const end = performance.now() + ${seconds * 1000}; let last = performance.now(); const gaps = [];
    for (;;) { const n = performance.now(); if (n > end) break; if (n - last > 1) gaps.push(n - last); last = n; }
    process.stdout.write(JSON.stringify({ count: gaps.length, maxMs: gaps.length ? Math.max(...gaps) : 0, totalMs: gaps.reduce((a, b) => a + b, 0) }));`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.once('exit', (c) => (c === 0 ? resolve({ seconds, ...(JSON.parse(out) as Omit<Stalls, 'seconds'>) }) : reject(new Error(`stall probe exited with ${c}`))));
  });
}
const PROBE_SECONDS = 5;
const stallLine = (p: Stalls) => `${p.count} pauses over 1 ms in ${p.seconds} s (${(p.count / p.seconds).toFixed(1)}/s), longest ${p.maxMs.toFixed(1)} ms`;

// ---- run, tabulate, chart -------------------------------------------------------------------

const dir = mkdtempSync(join(tmpdir(), 'netlab-bench-tick-'));
const startedAt = new Date();
const load0 = loadAverage();
const rows: (Row & { bus: BusKind; rate: number; vsFloor?: { p50: number; p99: number } })[] = [];
const skipped: string[] = [];
const stallsBefore = await stallProbe(PROBE_SECONDS);
log(`machine pauses before the cells: ${stallLine(stallsBefore)}`);
try {
  for (const bus of BUSES) {
    const problem = await probeBroker(bus.url);
    if (problem) {
      skipped.push(`${bus.kind}: ${noBrokerMessage(bus.url, problem)}`);
      log(`skipping ${bus.kind}: ${noBrokerMessage(bus.url, problem)}`);
      continue;
    }
    for (const rate of RATES) {
      // Side by side means at the same time: the shared machine's noise then hits every variant alike.
      const twoProcess = TWO_PROCESS_FLOOR_RATES.includes(rate);
      log(`${bus.kind} ${rate}/s: floor${twoProcess ? ', floor in 2 processes' : ''} and netlab at once (${WARMUP_SECONDS} s warm-up + ${SECONDS} s)`);
      const [floor, floor2, mine] = await Promise.all([
        runFloor(bus, rate, SECONDS),
        twoProcess ? runFloorTwoProcesses(bus, rate, SECONDS) : undefined,
        runNetlab(bus, rate, SECONDS, dir),
      ]);
      rows.push({ bus: bus.kind, rate, ...floor });
      if (floor2) rows.push({ bus: bus.kind, rate, ...floor2 });
      rows.push({ bus: bus.kind, rate, ...mine, vsFloor: { p50: mine.dtP50 / floor.dtP50, p99: mine.dtP99 / floor.dtP99 } });
      log(`  floor  dt p50 ${floor.dtP50} µs p99 ${floor.dtP99} µs | netlab dt p50 ${mine.dtP50} µs p99 ${mine.dtP99} µs rtt/2 ${mine.rttHalfP50} µs jitter p99 ${mine.jitterP99} µs lost ${mine.lost}`);
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const stallsAfter = await stallProbe(PROBE_SECONDS);
log(`machine pauses after the cells: ${stallLine(stallsAfter)}`);
const load1 = loadAverage();

const us = (v: number | undefined) => (v === undefined ? '–' : String(v));
const table = [
  '| bus | rate/s each way | impl | dt p50 µs | dt p99 µs | dt max µs | RTT/2 p50 µs | own jitter p99 µs | lost | CPU per app | p50 / floor | p99 / floor |',
  '|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ...rows.map((r) =>
    `| ${r.bus} | ${r.rate} | ${r.impl} | ${r.dtP50} | ${r.dtP99} | ${r.dtMax} | ${us(r.rttHalfP50)} | ${r.jitterP99} | ${r.lost} | ${r.cpuPercent.toFixed(1)} % | ${r.vsFloor ? r.vsFloor.p50.toFixed(2) : ''} | ${r.vsFloor ? r.vsFloor.p99.toFixed(2) : ''} |`,
  ),
];

const targets: string[] = [];
for (const bus of BUSES) {
  const floor = rows.find((r) => r.bus === bus.kind && r.rate === 100 && r.impl === 'floor');
  const mine = rows.find((r) => r.bus === bus.kind && r.rate === 100 && r.impl === 'netlab');
  const floor2 = rows.find((r) => r.bus === bus.kind && r.rate === 100 && r.impl === 'floor, 2 processes');
  if (!floor || !mine?.vsFloor) continue;
  const ok = (cond: boolean) => (cond ? 'met' : '**not met**');
  if (floor2) {
    targets.push(`- ${bus.kind} at 100/s against the floor in netlab's topology (two processes, p50 ${floor2.dtP50} µs, p99 ${floor2.dtP99} µs): netlab is ${(mine.dtP50 / floor2.dtP50).toFixed(2)}x at p50 and ${(mine.dtP99 / floor2.dtP99).toFixed(2)}x at p99.`);
  }
  const vsFloor = mine.vsFloor;
  targets.splice(floor2 ? targets.length - 1 : targets.length, 0,
    `- ${bus.kind} at 100/s: dt p50 ${mine.dtP50} µs vs floor ${floor.dtP50} µs (${vsFloor.p50.toFixed(2)}x, target ≤ 1.2x: ${ok(vsFloor.p50 <= 1.2)}); ` +
      `dt p99 ${mine.dtP99} µs vs ${floor.dtP99} µs (${vsFloor.p99.toFixed(2)}x: ${ok(vsFloor.p99 <= 1.2)}); ` +
      `lost ${mine.lost} (${ok(mine.lost === 0)}); own jitter p99 ${mine.jitterP99} µs (target < 1000 µs: ${ok(mine.jitterP99 < 1000)}; the bare floor's in the same run: ${floor.jitterP99} µs); drift ${mine.drift} ticks.`,
  );
}

// The chart: share of ticks per dt bucket, floor next to netlab, one panel per bus and rate.
const points = rows.flatMap((r) => {
  const total = r.buckets.reduce((s, b) => s + b.count, 0) || 1;
  return r.buckets.map((b, i) => ({
    bus: r.bus,
    rate: `${r.rate}/s`,
    impl: r.impl,
    order: i,
    bucket: b.le === null ? `>${(r.buckets[i - 1]!.le! / 1000).toString()} ms` : `≤${(b.le / 1000).toString()} ms`,
    share: (100 * b.count) / total,
  }));
});
const chartSpec: ChartSpec = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  title: `netlab tick vs the bare-client floor: one-way dt distribution (${SECONDS} s per cell)`,
  data: { values: points },
  facet: { row: { field: 'rate', type: 'ordinal', sort: RATES.map((r) => `${r}/s`), title: 'rate each way' }, column: { field: 'bus', type: 'nominal', title: null } },
  spec: {
    width: 520,
    height: 160,
    mark: 'bar',
    encoding: {
      x: { field: 'bucket', type: 'ordinal', sort: { field: 'order' }, title: 'dt bucket', axis: { labelAngle: -45 } },
      xOffset: { field: 'impl' },
      y: { field: 'share', type: 'quantitative', title: '% of ticks' },
      color: { field: 'impl', type: 'nominal', title: null, scale: { domain: ['floor', 'floor, 2 processes', 'netlab'], range: ['#b8c0c8', '#7f8c99', '#1f77b4'] } },
    },
  },
};

const seconds = ((Date.now() - startedAt.getTime()) / 1000).toFixed(0);
const body = [
  `Command: \`npm run bench:tick\` (bench/tick.ts; \`TICK_BENCH_SECONDS\`, \`TICK_BENCH_RATES\` change the cells).`,
  `Machine: ${machine()}; NATS and RabbitMQ on the same host (127.0.0.1). Run ${startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC, ${seconds} s; load average ${load0} before, ${load1} after (the load average lags: it still counts the benchmarks run just before).`,
  '',
  `Each cell measures ${SECONDS} s after a ${WARMUP_SECONDS} s warm-up that no number includes. The variants of a cell run at the same time, on separate channels, ` +
    'so the noise of this shared 2-core machine hits them alike (run one after another they measured different moments of other people\'s load). ' +
    '"netlab" is two `netlab tick` processes (app1, app2, `--print summary`) exchanging ticks each way; "floor" is two bare clients of the same libraries ' +
    '(@nats-io/transport-node, amqplib with noDelay) in one process, sending the same JSON ticks on a plain absolute-schedule timer and doing nothing else ' +
    '(the issue\'s definition); "floor, 2 processes" is the same bare app run as two processes, the topology netlab runs in. ' +
    'dt = receive time minus the tick\'s t (same host, so no clock offset), worse of the two directions; RTT/2 from echoed ticks; jitter = how late own ticks fire; ' +
    'lost counts seq gaps plus (netlab) ticks unpublished after connecting; CPU is user+system per app process (floor: the one process, halved).',
  '',
  ...table,
  '',
  ...(targets.length ? ['Targets at 100/s (issue 5):', '', ...targets, ''] : []),
  `The machine's own pauses (a process spinning on the clock, alone, for ${PROBE_SECONDS} s; every gap over 1 ms is time it was not run): ` +
    `before the cells ${stallLine(stallsBefore)}; after ${stallLine(stallsAfter)}. A tick due inside such a pause is late by up to its length, ` +
    'whichever timer wakes it, so while pauses come more often than about once per 100 ticks (1/s at 100/s) no process here can hold a jitter p99 under 1 ms.',
  '',
  ...(skipped.length ? ['Skipped:', '', ...skipped.map((s) => `- ${s}`), ''] : []),
  '![dt distributions: floor vs netlab per bus and rate](tick-dt.png)',
].join('\n');

process.stdout.write(`${body}\n`);
if (process.env.TICK_BENCH_NO_WRITE !== '1') {
  if (rows.length) writeFileSync(join(ROOT, 'docs', 'tick-dt.png'), svgToPng(await renderSvg(chartSpec), 1400));
  writeSection('Tick', body);
  log('wrote docs/benchmarks.md (## Tick) and docs/tick-dt.png');
}
