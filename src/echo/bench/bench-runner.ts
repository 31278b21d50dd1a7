import { mkdir, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, platform, release } from 'node:os';
import { join, resolve } from 'node:path';
import { sleep } from '../../core/async.js';
import { EXIT_FAILED, EXIT_OK } from '../../core/exit-codes.js';
import { writeExperimentReport } from '../../core/experiment-report.js';
import { probeReusePort } from '../../core/net.js';
import { ProgressBar } from '../../core/progress.js';
import type { RoleContext } from '../../core/role.js';
import type { EchoModel } from '../models.js';
import { buildBenchReport } from './bench-report.js';
import { pickMainCell, RESULTS_SCHEMA, resultsSchema, type EchoCell, type EchoResults, type IdleResult } from './bench-results.js';
import { cellLine, idleLine } from './bench-table.js';
import { renderCharts } from './charts.js';
import { GENERATOR_SATURATED_CPU, GeneratorPool, type CellLoad } from './generator-pool.js';
import { renderHtml } from './html-page.js';
import { echoOnce, runIdleTest } from './idle-test.js';
import { ResourceSampler } from './proc-sampler.js';
import { netlabTarget, PYTHON_BASELINES, pythonTarget, pythonUnavailable, startTarget, type BenchTarget, type PythonBaseline, type RunningServer } from './target-server.js';

export interface EchoBenchOptions {
  models: EchoModel[];
  sizes: number[];
  connections: number[];
  durationMs: number;
  warmupMs: number;
  outDir: string;
  baseline: 'none' | 'python';
  python: string;
  workers: number;
  generators: number;
  idleConnections: number;
  host: string;
  requestTimeoutMs: number;
  report?: string;
}

/** Fixed seed of the message bytes, so two runs send the same data. */
const MESSAGE_SEED = 4242;
/** The idle connections come from at least this many processes, however few carry the load. */
export const IDLE_MIN_GENERATORS = 2;

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

/** Which servers run, and which were asked for but cannot run here (and why). */
async function resolveTargets(o: EchoBenchOptions): Promise<{ targets: BenchTarget[]; skipped: { target: string; reason: string; failed: boolean }[] }> {
  const targets: BenchTarget[] = [];
  const skipped: { target: string; reason: string; failed: boolean }[] = [];
  for (const model of o.models) {
    if (model === 'threads') {
      const support = await probeReusePort();
      if (!support.supported) {
        skipped.push({ target: model, reason: support.reason!, failed: false });
        continue;
      }
    }
    targets.push(netlabTarget(model, o.host, o.workers));
  }
  if (o.baseline === 'python') {
    const why = pythonUnavailable(o.python);
    for (const name of Object.keys(PYTHON_BASELINES) as PythonBaseline[]) {
      if (why) skipped.push({ target: name, reason: why, failed: false });
      else targets.push(pythonTarget(name, o.python, o.host));
    }
  }
  return { targets, skipped };
}

/** One cell: open the connections, run warmup + window while sampling the server from outside. */
async function measureCell(pool: GeneratorPool, server: RunningServer, target: BenchTarget, size: number, connections: number, o: EchoBenchOptions): Promise<EchoCell> {
  const load: CellLoad = { host: o.host, port: server.port, size, connections, warmupMs: o.warmupMs, durationMs: o.durationMs, requestTimeoutMs: o.requestTimeoutMs, seed: MESSAGE_SEED };
  const opened = await pool.open(load);
  const sampler = new ResourceSampler(server.pid);
  const running = pool.run(load, opened);
  await sleep(o.warmupMs);
  sampler.start();
  await sleep(o.durationMs);
  const usage = sampler.stop();
  const m = await running;
  const h = m.histogram;
  const errorCount = Object.values(m.errors).reduce((a, b) => a + b, 0);
  const rps = m.elapsedSeconds > 0 ? m.requests / m.elapsedSeconds : 0;
  const maxGen = Math.max(0, ...m.generatorCpu);
  return {
    target: target.name,
    size,
    connections,
    connectionsOpened: m.connectionsOpened,
    requests: m.requests,
    elapsedSeconds: round(m.elapsedSeconds, 3),
    rps: round(rps),
    bytesPerSecond: Math.round(rps * size),
    latencyUs: h.totalCount > 0
      ? { p50: h.getValueAtPercentile(50), p90: h.getValueAtPercentile(90), p99: h.getValueAtPercentile(99), max: h.maxValue, mean: round(h.mean) }
      : { p50: 0, p90: 0, p99: 0, max: 0, mean: 0 },
    errors: m.errors,
    errorCount,
    mismatches: m.mismatches,
    server: {
      cpuSeconds: round(usage.cpuSeconds, 2),
      cpuCores: round(o.durationMs > 0 ? usage.cpuSeconds / (o.durationMs / 1000) : 0, 2),
      peakRssBytes: usage.peakRssBytes,
      processes: usage.processes,
    },
    generator: { processes: m.generatorCpu.length, maxCpuCores: round(maxGen, 2), saturated: maxGen >= GENERATOR_SATURATED_CPU },
    machineCpuBusy: round(Math.min(1, Math.max(0, usage.machineBusy)), 3),
  };
}

/**
 * `netlab echo-bench`: every target (netlab models, then baselines) gets its own server process and
 * the same generator processes; each cell of sizes x connections is warmed up and measured.
 */
export async function runEchoBench(o: EchoBenchOptions, { logger, lifecycle }: RoleContext): Promise<number> {
  const started = new Date();
  const loadAverageStart = loadavg();
  const outDir = resolve(o.outDir);
  await mkdir(outDir, { recursive: true });
  const { targets, skipped } = await resolveTargets(o);
  for (const s of skipped) logger.warn({ target: s.target }, `skipping ${s.target}: ${s.reason}`);

  const pool = await GeneratorPool.start(o.generators);
  lifecycle.onShutdown('load generators', () => pool.close());
  const cells: EchoCell[] = [];
  const ran: EchoResults['targets'] = [];
  let idle: IdleResult | undefined;
  const total = targets.length * o.sizes.length * o.connections.length;
  const progress = new ProgressBar(total, 'echo-bench');
  const nameWidth = Math.max(...targets.map((t) => t.name.length), 4);
  try {
    for (const target of targets) {
      if (lifecycle.closing) break;
      let server: RunningServer;
      try {
        server = await startTarget(target, o.host);
      } catch (err) {
        skipped.push({ target: target.name, reason: (err as Error).message, failed: true });
        logger.error({ target: target.name, err }, `${target.name} did not start`);
        continue;
      }
      ran.push({ name: target.name, kind: target.kind, description: target.description, command: server.commandLine });
      try {
        // One client connects, gets one echo and leaves before the first cell, so the first cell
        // measures each server as every later cell does: after a client came and went. A fresh
        // CPython asyncio server is otherwise ~2x slower until its first connection closes (its
        // 256 KiB read buffer is mmap'd and unmapped on every read until glibc sees one freed).
        await echoOnce(o.host, server.port);
        for (const size of o.sizes) {
          for (const connections of o.connections) {
            if (lifecycle.closing) break;
            const cell = await measureCell(pool, server, target, size, connections, o);
            cells.push(cell);
            if (process.stderr.isTTY) process.stderr.write('\r\x1b[K'); // clear the progress bar's line
            process.stdout.write(cellLine(cell, nameWidth) + '\n');
            progress.update(cells.length, target.name);
          }
        }
      } finally {
        await server.stop();
      }
    }
    if (o.idleConnections > 0 && !lifecycle.closing) {
      const holders = pool.size >= IDLE_MIN_GENERATORS ? pool : await GeneratorPool.start(IDLE_MIN_GENERATORS);
      try {
        idle = await runIdleTest(holders, netlabTarget('loop', o.host, 1), o.host, o.idleConnections, logger);
      } finally {
        if (holders !== pool) await holders.close();
      }
      process.stdout.write(idleLine(idle) + '\n');
    }
  } finally {
    progress.finish();
    await pool.close();
  }

  const finished = new Date();
  const results: EchoResults = resultsSchema.parse({
    schema: RESULTS_SCHEMA,
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationSeconds: round((finished.getTime() - started.getTime()) / 1000, 1),
    machine: {
      cpus: availableParallelism(),
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
      node: process.version,
      platform: platform(),
      kernel: release(),
      loadAverageStart: loadAverageStart.map((l) => round(l, 2)),
      loadAverageEnd: loadavg().map((l) => round(l, 2)),
    },
    config: {
      models: o.models,
      baselines: o.baseline === 'python' ? Object.keys(PYTHON_BASELINES) : [],
      sizes: o.sizes,
      connections: o.connections,
      durationMs: o.durationMs,
      warmupMs: o.warmupMs,
      workers: o.workers,
      generators: o.generators,
      requestTimeoutMs: o.requestTimeoutMs,
      idleConnections: o.idleConnections,
    },
    targets: ran,
    skipped,
    mainCell: pickMainCell(o.sizes, o.connections),
    cells,
    idle,
  });

  const files = { results: join(outDir, 'results.json'), chart: join(outDir, 'results.png'), page: join(outDir, 'index.html') };
  await writeFile(files.results, JSON.stringify(results, null, 2) + '\n');
  const { svg, png } = await renderCharts(results);
  await writeFile(files.chart, png);
  await writeFile(join(outDir, 'results.svg'), svg);
  await writeFile(files.page, renderHtml(results, svg));
  logger.info({ outDir }, `results in ${files.results}, chart ${files.chart}, page ${files.page}`);

  const report = buildBenchReport(results, files);
  if (o.report) await writeExperimentReport(o.report, report);
  for (const check of report.checks) if (!check.pass) logger.warn({ check: check.name, detail: check.detail }, `check failed: ${check.name}`);
  // Correctness failures fail the run; a saturated generator only makes the numbers suspect.
  const broken = report.checks.filter((c) => !c.pass && c.name !== 'generator not saturated');
  return broken.length > 0 ? EXIT_FAILED : EXIT_OK;
}
