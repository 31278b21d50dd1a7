import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { sleep } from '../core/async.js';
import { ProcessWaitError, startNetlabProcess, type RunningProcess } from '../core/child-process.js';
import { EXIT_FAILED, EXIT_OK } from '../core/exit-codes.js';
import { writeExperimentReport, type ExperimentReport } from '../core/experiment-report.js';
import { freePort } from '../core/net.js';
import type { RoleContext } from '../core/role.js';
import { auditStore, type Accounting } from './accounting.js';
import type { StatsBody } from './protocol.js';
import { DispatchStore } from './store.js';

export interface LabOptions {
  workers: number;
  durationMs: number;
  timeScale: number;
  leaseMs: number;
  dispatcherKills: number;
  restartDelayMs: number;
  data?: string;
  report?: string;
  seed?: number;
}

export const STATS_POLL_MS = 500;
const LIVE_LINE_MS = 5000;
const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;
const WORKERS_UP_TIMEOUT_MS = 30_000;
const KILL_WAIT_POLLS = 40;
const KILL_WAIT_POLL_MS = 50;
/** Of a child's stderr, the tail kept for the debug log when it fails. */
const STDERR_TAIL_CHARS = 2000;
const MAX_ATTEMPTS = 3;

interface Sample extends StatsBody {
  t: number;
}

/**
 * `netlab dispatch-lab`: a dispatcher and N worker processes; workers that exit are restarted (as a
 * Kubernetes Job would), the dispatcher is SIGKILLed and restarted --dispatcher-kills times. At the
 * end workers stop, the dispatcher stops, and the LMDB store is audited.
 */
export async function runDispatchLab(o: LabOptions, context: RoleContext): Promise<number> {
  const dataDir = o.data ? resolve(o.data) : await mkdtemp(join(tmpdir(), 'netlab-dispatch-lab-'));
  try {
    return await runLab(o, context, dataDir);
  } finally {
    if (!o.data) await rm(dataDir, { recursive: true, force: true });
  }
}

async function runLab(o: LabOptions, { logger, lifecycle }: RoleContext, dataDir: string): Promise<number> {
  const startedAt = new Date();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const children = new Set<RunningProcess>();
  const killAll = () => {
    for (const child of children) child.kill('SIGKILL');
  };
  lifecycle.onShutdown('lab processes', killAll);
  // When the lab itself fails and exits, core/child-process.ts SIGKILLs every child it started.
  // Workers restart all the time (the > 900 rule); Node's on-disk compile cache halves their start-up CPU.
  const childEnv = { ...process.env, METRICS_PORT: '0', NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? join(tmpdir(), 'netlab-node-compile-cache') };
  const spawnMain = (args: string[], onLine?: (line: string) => void): RunningProcess => {
    const child = startNetlabProcess(args, {
      env: childEnv,
      keepChars: STDERR_TAIL_CHARS,
      onLine: onLine && ((line, stream) => stream === 'stdout' && onLine(line)),
    });
    children.add(child);
    void child.exited.then((code) => {
      children.delete(child);
      const err = child.stderr().trim();
      // A worker ended by a signal is the lab's own doing: only failures it chose are logged.
      if (code !== 0 && child.child.signalCode === null && err) logger.debug({ pid: child.pid, code, stderr: err }, 'child stderr');
    });
    return child;
  };

  const dispatcherArgs = ['dispatcher', '--host', '127.0.0.1', '--port', String(port), '--data', dataDir, '--lease', `${o.leaseMs}ms`, '--log-level', 'warn', '--grace', '5s'];
  if (o.seed !== undefined) dispatcherArgs.push('--seed', String(o.seed));
  let dispatcher = spawnMain(dispatcherArgs);
  await waitReady(url, dispatcher);
  logger.info({ url, data: dataDir, workers: o.workers, timeScale: o.timeScale }, `dispatcher up on ${url}; starting ${o.workers} workers`);

  let running = true;
  let workerExits = 0;
  let workerStarts = 0;
  let acceptedByWorkers = 0;
  let workersUp = 0;
  const exitCodes: Record<string, number> = {};
  const startWorker = (slot: number): void => {
    workerStarts++;
    const args = ['worker', '--url', url, '--time-scale', String(o.timeScale), '--log-level', 'info', '--grace', '2s'];
    if (o.seed !== undefined) args.push('--seed', String(o.seed * 1000 + workerStarts));
    const child = spawnMain(args, (line) => {
      if (line.includes('"worker with batchsize')) workersUp++;
      if (!line.includes('"worker summary"')) return;
      try {
        acceptedByWorkers += (JSON.parse(line) as { accepted: number }).accepted;
      } catch {
        // not a log line of ours
      }
    });
    void child.exited.then((code) => {
      exitCodes[String(code)] = (exitCodes[String(code)] ?? 0) + 1;
      if (!running) return;
      workerExits++;
      setTimeout(() => running && startWorker(slot), o.restartDelayMs).unref();
    });
  };
  for (let i = 0; i < o.workers; i++) startWorker(i);
  // The run's clock starts once the first workers have started up (on a busy machine that takes
  // seconds); they may already have exited again by then, so count start-ups, not connections.
  const upBy = Date.now() + WORKERS_UP_TIMEOUT_MS;
  while (Date.now() < upBy && !lifecycle.closing && workersUp < o.workers) await sleep(50, lifecycle.signal);

  const samples: Sample[] = [];
  const t0 = performance.now();
  const elapsed = () => (performance.now() - t0) / 1000;
  let lastLine = 0;
  const poll = async (): Promise<void> => {
    const stats = await fetchStats(url);
    if (!stats) return;
    samples.push({ t: Number(elapsed().toFixed(2)), ...stats });
    if (performance.now() - lastLine >= LIVE_LINE_MS) {
      lastLine = performance.now();
      logger.info({ t: Math.round(elapsed()), ...stats, workerExits }, liveLine(stats, workerExits));
    }
  };

  const kills = Array.from({ length: o.dispatcherKills }, (_, i) => ((i + 1) * o.durationMs) / (o.dispatcherKills + 1));
  let killed = 0;
  let leasesOpenAtKills = 0;
  /** The kills and restarts, for the report's time series. */
  const events: { at: number; label: string }[] = [];
  const deadline = performance.now() + o.durationMs;
  while (performance.now() < deadline && !lifecycle.closing) {
    await poll();
    const due = kills[killed];
    if (due !== undefined && elapsed() * 1000 >= due) {
      // Kill while leases are open (when there are any within a moment), so the restart has some to fail.
      for (let i = 0; i < KILL_WAIT_POLLS && ((await fetchStats(url))?.leased ?? 0) === 0; i++) await sleep(KILL_WAIT_POLL_MS);
      killed++;
      logger.info({ at: Math.round(elapsed()) }, 'SIGKILL to the dispatcher; restarting it on the same store');
      events.push({ at: Number(elapsed().toFixed(2)), label: 'dispatcher SIGKILL' });
      dispatcher.kill('SIGKILL');
      await dispatcher.exited;
      // What the killed dispatcher left committed: the leases its restart must fail, every one of them.
      const open = await openLeases(dataDir);
      leasesOpenAtKills += open;
      logger.info({ leasesOpen: open }, `${open} leases open in the store after the kill`);
      dispatcher = spawnMain(dispatcherArgs);
      await waitReady(url, dispatcher);
      events.push({ at: Number(elapsed().toFixed(2)), label: 'restarted' });
    }
    await sleep(STATS_POLL_MS, lifecycle.signal);
  }

  // Stop: workers first (their open batches fail as stream loss), then the dispatcher, then audit.
  running = false;
  await Promise.all([...children].filter((c) => c !== dispatcher).map((c) => c.stop('SIGTERM', STOP_TIMEOUT_MS)));
  await poll();
  await dispatcher.stop('SIGTERM', STOP_TIMEOUT_MS);
  const durationSeconds = elapsed();
  const store = new DispatchStore(dataDir, { readOnly: true });
  let accounting: Accounting;
  try {
    accounting = auditStore(store, { maxAttempts: MAX_ATTEMPTS, workerRules: true, acceptedByWorkers, periodShare: true });
    if (killed > 0) {
      const failed = accounting.attemptsByReason['dispatcher-restart'];
      accounting.checks.push({
        name: 'every lease open at a dispatcher kill failed once, at the restart (dispatcher-restart)',
        pass: failed === leasesOpenAtKills,
        detail: `${leasesOpenAtKills} leases open in the store after ${killed} kills; ${failed} attempts failed as dispatcher-restart`,
      });
    }
  } finally {
    await store.root.close();
  }
  const last = samples.at(-1);
  if (last) samples.push({ ...last, ...accounting.byState, t: Number(durationSeconds.toFixed(2)) });

  printAccounting(accounting, { workerStarts, workerExits, killed, acceptedByWorkers, exitCodes, durationSeconds });
  const pass = accounting.checks.every((c) => c.pass);
  if (o.report) {
    const reportDir = dirname(resolve(o.report));
    await mkdir(reportDir, { recursive: true });
    const accountingFile = join(reportDir, `${basename(o.report, '.json')}-accounting.json`);
    await writeFile(accountingFile, JSON.stringify({ ...accounting, workerStarts, workerExits, dispatcherKills: killed, acceptedByWorkers, exitCodes }, null, 2) + '\n');
    const finished = accounting.byState.done + accounting.byState.dead;
    const report: ExperimentReport = {
      experiment: 'dispatch',
      startedAt: startedAt.toISOString(),
      durationSeconds: Number(durationSeconds.toFixed(2)),
      checks: accounting.checks,
      headline: {
        generated: accounting.generated,
        done: accounting.byState.done,
        dead: accounting.byState.dead,
        queued: accounting.byState.queued,
        leased: accounting.byState.leased,
        dead_letter_share_pct: Number((accounting.deadShare * 100).toFixed(1)),
        period_over_800_share_pct: Number((accounting.periodOver800Share * 100).toFixed(1)),
        generated_period_over_800_pct: Number((accounting.generatedPeriodOver800Share * 100).toFixed(1)),
        finished_per_s: Number((finished / durationSeconds).toFixed(1)),
        workers: o.workers,
        worker_exits: workerExits,
        dispatcher_kills: killed,
        leases_open_at_kills: leasesOpenAtKills,
      },
      files: { accounting: basename(accountingFile), ...(o.data ? { store: dataDir } : {}) },
      series: Object.fromEntries((['queued', 'leased', 'done', 'dead'] as const).map((k) => [k, samples.map((s) => ({ x: s.t, y: s[k] }))])),
      events,
    };
    await writeExperimentReport(o.report, report);
    logger.info({ report: o.report }, 'report written');
  }
  return pass ? EXIT_OK : EXIT_FAILED;
}

/** Messages leased in the store of a dispatcher that is not running (read-only; LMDB readers need no lock). */
async function openLeases(dataDir: string): Promise<number> {
  const store = new DispatchStore(dataDir, { readOnly: true });
  try {
    let open = 0;
    for (const m of store.allMessages()) if (m.state === 'leased') open++;
    return open;
  } finally {
    await store.root.close();
  }
}

function liveLine(s: StatsBody, exits: number): string {
  return `generated ${s.generated}  done ${s.done}  dead ${s.dead}  queued ${s.queued}  leased ${s.leased}  clients ${s.clients}  worker exits ${exits}`;
}

function printAccounting(a: Accounting, run: { workerStarts: number; workerExits: number; killed: number; acceptedByWorkers: number; exitCodes: Record<string, number>; durationSeconds: number }): void {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const lines = [
    '',
    `Final accounting after ${run.durationSeconds.toFixed(1)} s (${run.workerStarts} worker processes started, ${run.workerExits} exited and were restarted, dispatcher killed ${run.killed}x)`,
    `  generated      ${a.generated}`,
    `  done           ${a.byState.done}`,
    `  dead-lettered  ${a.byState.dead}  (${pct(a.deadShare)} of finished; period > 800: ${a.deadPeriodOver800}, period <= 800: ${a.deadPeriodUpTo800})`,
    `  queued         ${a.byState.queued}`,
    `  leased         ${a.byState.leased}`,
    `  failed attempts by reason: ${Object.entries(a.attemptsByReason).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    '',
    ...a.checks.map((c) => `  [${c.pass ? 'PASS' : 'FAIL'}] ${c.name}: ${c.detail ?? ''}`),
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

async function fetchStats(url: string): Promise<StatsBody | undefined> {
  try {
    const res = await fetch(`${url}/stats`, { signal: AbortSignal.timeout(2000) });
    return res.ok ? ((await res.json()) as StatsBody) : undefined;
  } catch {
    return undefined; // the dispatcher is down (being restarted): no sample
  }
}

async function waitReady(url: string, child: RunningProcess): Promise<void> {
  try {
    await child.waitForHttp(`${url}/readyz`, READY_TIMEOUT_MS);
  } catch (err) {
    if (err instanceof ProcessWaitError && err.kind === 'exited') throw new Error(`dispatcher exited with code ${err.exitCode} before it was ready`, { cause: err });
    if (err instanceof ProcessWaitError && err.kind === 'timeout') throw new Error(`dispatcher not ready within ${READY_TIMEOUT_MS} ms`, { cause: err });
    throw err;
  }
}
