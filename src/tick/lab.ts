/**
 * tick-lab: for each bus URL, runs app1 and app2 as two `netlab tick` processes (so they share
 * nothing but the broker), waits for them to finish, reads their --json totals and writes an
 * ExperimentReport. Buses run one after another so they do not compete for the CPU.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { sleep, within } from '../core/async.js';
import { startNetlabProcess } from '../core/child-process.js';
import { EXIT_FAILED, EXIT_OK } from '../core/exit-codes.js';
import { writeExperimentReport, reportPassed } from '../core/experiment-report.js';
import type { Logger } from '../core/logger.js';
import { ProgressBar } from '../core/progress.js';
import { noBrokerMessage, probeBroker } from './broker-probe.js';
import { busKindOf } from './bus.js';
import { buildTickLabReport, type BusRun } from './lab-report.js';
import type { TickRunResult } from './tick-app.js';

/** app2 starts this long after app1, as a user would start the second app. */
export const SECOND_APP_DELAY_MS = 300;
/** An app that has not exited this long after its --duration is killed and the bus fails. */
export const APP_EXIT_SLACK_MS = 20_000;

export interface TickLabOptions {
  buses: string[];
  durationMs: number;
  warmupMs: number;
  rate: number;
  report: string | undefined;
  outDir: string;
  requireBrokers: boolean;
  signal: AbortSignal;
}

/** "nats", "amqp"; a second URL of the same kind becomes "nats2". */
export function busLabels(urls: string[]): string[] {
  const seen = new Map<string, number>();
  return urls.map((url) => {
    const kind = busKindOf(url);
    const n = (seen.get(kind) ?? 0) + 1;
    seen.set(kind, n);
    return n === 1 ? kind : `${kind}${n}`;
  });
}

interface AppRun {
  exited: Promise<number>;
  kill(): void;
}

/** Starts `netlab tick <args>`; its output goes to `logFile` only. */
function startApp(args: string[], logFile: string): AppRun {
  const app = startNetlabProcess(['tick', ...args], { env: { ...process.env, METRICS_PORT: '0' }, logFile, keepChars: 0 });
  return { exited: app.exited, kill: () => app.kill('SIGTERM') };
}

async function readResult(file: string): Promise<TickRunResult | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as TickRunResult;
  } catch {
    return undefined;
  }
}

async function runBus(url: string, label: string, o: TickLabOptions, files: Record<string, string>, baseDir: string, logger: Logger): Promise<BusRun> {
  const problem = await probeBroker(url);
  if (problem) {
    const message = noBrokerMessage(url, problem);
    if (o.requireBrokers) {
      logger.error(`${label}: ${message} (a broker is required here)`);
      return { label, url, status: 'ran', error: `${message} (required: NETLAB_REQUIRE_BROKERS is set)` };
    }
    logger.warn(`${label}: skipped: ${message}`);
    return { label, url, status: 'skipped', reason: message };
  }
  const channel = `lab-${label}-${Math.random().toString(36).slice(2, 8)}`;
  const apps: AppRun[] = [];
  const out: Record<'app1' | 'app2', string> = { app1: '', app2: '' };
  const bar = new ProgressBar(Math.round(o.durationMs / 1000), `tick-lab ${label}`);
  const started = Date.now();
  const progress = setInterval(() => bar.update(Math.min(Math.round((Date.now() - started) / 1000), Math.round(o.durationMs / 1000))), 500);
  try {
    for (const [name, peer] of [['app1', 'app2'], ['app2', 'app1']] as const) {
      const json = join(o.outDir, `tick-${label}-${name}.json`);
      const logFile = join(o.outDir, `tick-${label}-${name}.log`);
      files[`${label}_${name}_results`] = relative(baseDir, json);
      files[`${label}_${name}_log`] = relative(baseDir, logFile);
      out[name] = json;
      // app1 runs a little longer, so app2 sees it for the whole of its own run.
      const durationMs = name === 'app1' ? o.durationMs + SECOND_APP_DELAY_MS : o.durationMs;
      apps.push(startApp(['--name', name, '--peer', peer, '--bus', url, '--rate', String(o.rate), '--duration', `${durationMs}ms`, '--print', 'summary', '--channel', channel, '--warmup', `${o.warmupMs}ms`, '--json', json, '--log-level', 'info'], logFile));
      if (name === 'app1') await sleep(SECOND_APP_DELAY_MS);
    }
    const onAbort = () => apps.forEach((a) => a.kill());
    o.signal.addEventListener('abort', onAbort, { once: true });
    const codes = await within(Promise.all(apps.map((a) => a.exited)), o.durationMs + APP_EXIT_SLACK_MS);
    o.signal.removeEventListener('abort', onAbort);
    if (codes === undefined) {
      apps.forEach((a) => a.kill());
      return { label, url, status: 'ran', error: `apps did not exit within ${APP_EXIT_SLACK_MS / 1000} s of their duration` };
    }
    const [app1, app2] = await Promise.all([readResult(out.app1), readResult(out.app2)]);
    const error = codes.some((c) => c !== 0) ? `apps exited with codes ${codes.join(', ')} (see the logs)` : undefined;
    return { label, url, status: 'ran', app1, app2, error };
  } finally {
    clearInterval(progress);
    bar.finish();
  }
}

export async function runTickLab(o: TickLabOptions, logger: Logger): Promise<number> {
  const startedAt = new Date();
  const baseDir = o.report ? dirname(resolve(o.report)) : resolve(o.outDir);
  await mkdir(o.outDir, { recursive: true });
  const files: Record<string, string> = {};
  const runs: BusRun[] = [];
  const labels = busLabels(o.buses);
  for (const [i, url] of o.buses.entries()) {
    if (o.signal.aborted) break;
    logger.info(`${labels[i]}: app1 <-> app2 at ${o.rate}/s for ${o.durationMs / 1000} s`);
    runs.push(await runBus(url, labels[i]!, o, files, baseDir, logger));
  }
  const report = buildTickLabReport(runs, {
    startedAt: startedAt.toISOString(),
    durationSeconds: Number(((Date.now() - startedAt.getTime()) / 1000).toFixed(1)),
    rate: o.rate,
    files,
  });
  for (const check of report.checks) logger.info({ pass: check.pass }, `${check.pass ? 'PASS' : 'FAIL'} ${check.name}${check.detail ? ` (${check.detail})` : ''}`);
  logger.info({ headline: report.headline }, 'headline');
  if (o.report) {
    await writeExperimentReport(o.report, report);
    logger.info(`report written to ${o.report}`);
  }
  return reportPassed(report) ? EXIT_OK : EXIT_FAILED;
}
