import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { deferred, sleep } from '../core/async.js';
import { ProcessWaitError, startNetlabProcess, type RunningProcess } from '../core/child-process.js';
import { EXIT_FAILED, EXIT_OK } from '../core/exit-codes.js';
import { reportPassed, writeExperimentReport, type ExperimentReport } from '../core/experiment-report.js';
import type { Logger } from '../core/logger.js';
import { freePort } from '../core/net.js';
import { deriveSeed, randomSeed } from '../core/prng.js';
import type { RoleContext } from '../core/role.js';
import type { ClientStats } from './client.js';
import { consoleText } from './console-text.js';
import { MARKER_SETS } from './log-format.js';
import { checkRange } from './options.js';
import { analyzeRun } from './run-analysis.js';
import { LISTENING_MESSAGE, type PingPongServerOptions } from './server.js';

/** The server's behaviour flags pass through unchanged; the rest shape the run. */
export interface PingPongRunOptions extends Omit<PingPongServerOptions, 'host' | 'log' | 'quiet'> {
  clients: number;
  duration: number;
  dir: string;
  report: string | undefined;
  intervalMin: number;
  intervalMax: number;
  timeout: number;
  grace: number;
}

/** How long the server may take to start listening. */
export const SERVER_START_TIMEOUT_MS = 15_000;
/** How long the clients may take to start and connect: this, plus a second for each (each is a Node process). */
export const CLIENT_START_TIMEOUT_MS = 30_000;
const CLIENT_START_EACH_MS = 1_000;
/** The server's console line for each connection (the exercise's wording, in every marker set). */
const CONNECTED_LINE = /^Client \d+ connected: /;
/** Beyond the children's own grace period, how long to wait before killing one that hangs. */
const KILL_AFTER_MS = 5_000;

interface Child {
  name: string;
  process: RunningProcess;
  /** Set once the run is being stopped: the clients' "server went away" warnings are expected then. */
  quiet: boolean;
}

/**
 * The exercise's run.py: starts the server, waits until it accepts, starts the clients as separate
 * processes, lets them run, stops everything and reports. Stopping goes server first: it stops
 * reading, sends the answers it already decided on, and closes; then the clients, which log every
 * request still open as answered or timed out. So every counter value sent ends up in some log.
 */
export async function runPingPong(options: PingPongRunOptions, { logger, lifecycle }: Pick<RoleContext, 'logger' | 'lifecycle'>): Promise<number> {
  checkRange('delay', options.delayMin, options.delayMax);
  checkRange('interval', options.intervalMin, options.intervalMax);
  const text = consoleText(options.markers);
  const say = (line: string) => process.stdout.write(line + '\n');
  const dir = resolve(options.dir);
  mkdirSync(dir, { recursive: true });
  const seed = options.seed ?? randomSeed();
  const port = options.port === 0 ? await freePort() : options.port;
  const startedAt = new Date();
  const files = {
    server: resolve(dir, 'server.log'),
    clients: Array.from({ length: options.clients }, (_, i) => resolve(dir, `client${i + 1}.log`)),
    stats: Array.from({ length: options.clients }, (_, i) => resolve(dir, `client${i + 1}.stats.json`)),
  };

  const shared = ['--time-scale', String(options.timeScale), '--markers', options.markers, '--metrics-port', '0', '--log-level', 'info', '--grace', `${options.grace}ms`];
  const children: Child[] = [];
  const done = deferred();
  // On Ctrl-C the lifecycle waits for this run to stop its children and write its report.
  lifecycle.onShutdown('pingpong processes', () => done.promise);

  try {
    say(text.started(startedAt));
    const server = startChild('server', [
      'pingpong-server', '--host', '127.0.0.1', '--port', String(port), '--log', files.server, '--no-quiet', '--seed', String(deriveSeed(seed, 0)),
      '--ignore-probability', String(options.ignoreProbability), '--delay-min', `${options.delayMin}ms`, '--delay-max', `${options.delayMax}ms`,
      '--keepalive-period', `${options.keepalivePeriod}ms`, '--max-bad-lines', String(options.maxBadLines), '--max-write-buffer', String(options.maxWriteBuffer),
      '--max-pending-answers', String(options.maxPendingAnswers), '--threads', String(options.threads), ...shared,
    ], logger);
    children.push(server);
    await waitForListening(server, logger);

    // The run's clock starts when every client is connected, not when it was spawned: on a busy machine a
    // client's Node can take longer to start than a scaled run lasts.
    const connected = waitForClients(server, options.clients);
    for (let i = 1; i <= options.clients; i++) {
      children.push(startChild(`client${i}`, [
        'pingpong-client', '--host', '127.0.0.1', '--port', String(port), '--log', files.clients[i - 1]!, '--stats', files.stats[i - 1]!,
        '--seed', String(deriveSeed(seed, i)), '--connections', '1', '--duration', '0', '--requests', '0',
        '--interval-min', `${options.intervalMin}ms`, '--interval-max', `${options.intervalMax}ms`, '--timeout', `${options.timeout}ms`, ...shared,
      ], logger));
    }
    await connected;
    say(text.running(options.clients, options.duration));
    const wallMs = options.duration * options.timeScale;
    if (options.timeScale !== 1) say(text.scaled(options.timeScale, wallMs));
    logger.info({ seed, port, dir, wallMs }, 'pingpong run started');

    await sleep(wallMs, lifecycle.signal);
    say(lifecycle.closing ? text.interrupted(new Date()) : text.timeout(new Date()));
    for (const child of children) child.quiet = true;

    const codes = new Map<string, number>();
    const stop = async (child: Child) => codes.set(child.name, await stopChild(child, options.grace + KILL_AFTER_MS));
    await stop(server);
    await Promise.all(children.slice(1).map(stop));
    say(text.stopped());

    const analysis = analyzeRun({
      serverLog: files.server,
      clientLogs: files.clients,
      clientStats: files.stats.map(readStats),
      markers: MARKER_SETS[options.markers],
      ignoreProbability: options.ignoreProbability,
      delayMinMs: options.delayMin * options.timeScale,
      delayMaxMs: options.delayMax * options.timeScale,
      keepalivePeriodMs: options.keepalivePeriod * options.timeScale,
    });
    const unclean = [...codes].filter(([, code]) => code !== 0);
    analysis.checks.push({
      name: 'processes exited cleanly',
      pass: unclean.length === 0,
      detail: unclean.length ? unclean.map(([name, code]) => `${name} exited ${code}`).join(', ') : `${codes.size} processes exited 0`,
    });
    const report: ExperimentReport = {
      experiment: 'pingpong',
      startedAt: startedAt.toISOString(),
      durationSeconds: (Date.now() - startedAt.getTime()) / 1000,
      checks: analysis.checks,
      headline: { ...analysis.headline, seed },
      files: Object.fromEntries([
        ['server_log', files.server],
        ...files.clients.map((f, i) => [`client${i + 1}_log`, f]),
        ...files.stats.filter((f) => existsSync(f)).map((f, i) => [`client${i + 1}_stats`, f]),
      ]),
      series: analysis.series,
    };
    if (options.report) await writeExperimentReport(options.report, report);
    const passed = reportPassed(report);
    for (const c of report.checks) (c.pass ? logger.info : logger.warn).call(logger, { check: c.name, pass: c.pass }, `${c.pass ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail ?? ''}`);
    logger.info(report.headline, `pingpong run ${passed ? 'passed' : 'FAILED'}: ${report.headline.requests} requests, ${report.headline.answered} answered, ${report.headline.ignored} ignored, ${report.headline.timeouts} timeouts`);
    return passed ? EXIT_OK : EXIT_FAILED;
  } finally {
    await Promise.all(children.map((c) => stopChild(c, options.grace + KILL_AFTER_MS)));
    done.resolve();
  }
}

function readStats(file: string): ClientStats | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ClientStats;
  } catch {
    return undefined;
  }
}

/**
 * Starts `netlab <args>`. Its console lines (not JSON) are printed as they are, like run.py's
 * inherited stdout; its JSON log lines are shown only when they are warnings or errors.
 */
function startChild(name: string, args: string[], logger: Logger): Child {
  const handle: Child = { name, process: undefined!, quiet: false };
  const onLine = (line: string, stream: 'stdout' | 'stderr') => {
    if (stream === 'stderr') return void process.stderr.write(`[${name}] ${line}\n`);
    const entry = logEntry(line);
    if (!entry) return void process.stdout.write(line + '\n');
    if ((entry.level ?? 0) >= (handle.quiet ? 50 : 40)) process.stderr.write(`[${name}] ${entry.level! >= 50 ? 'error' : 'warn'}: ${entry.msg ?? line}\n`);
  };
  // Own process group: a Ctrl-C on the terminal reaches only us, and we stop the children in order.
  // Only the lines matter here: nothing of the output is kept.
  handle.process = startNetlabProcess(args, { group: true, onLine, keepChars: 0 });
  handle.process.child.on('error', (err) => logger.error({ child: name, err }, `could not start ${name}`));
  return handle;
}

/** A JSON log line of a child, or undefined for a console line. */
function logEntry(line: string): { level?: number; msg?: string } | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    return JSON.parse(line) as { level?: number; msg?: string };
  } catch {
    return undefined;
  }
}

/** Resolves once the server logged that it listens; rejects if it exits or takes too long. */
async function waitForListening(server: Child, logger: Logger): Promise<void> {
  try {
    await server.process.waitFor((line) => logEntry(line)?.msg?.startsWith(LISTENING_MESSAGE) ?? false, SERVER_START_TIMEOUT_MS);
  } catch (err) {
    if (err instanceof ProcessWaitError && err.kind === 'timeout') throw new Error(`the server did not start listening within ${SERVER_START_TIMEOUT_MS} ms`, { cause: err });
    if (err instanceof ProcessWaitError && err.kind === 'exited') throw new Error(`the server exited with code ${err.exitCode} before it accepted connections`, { cause: err });
    throw err;
  }
  logger.debug('server is accepting connections');
}

/** Resolves once the server printed a "Client N connected" line for each of `count` clients. */
async function waitForClients(server: Child, count: number): Promise<void> {
  let seen = 0;
  const timeoutMs = CLIENT_START_TIMEOUT_MS + count * CLIENT_START_EACH_MS;
  try {
    await server.process.waitFor((line) => CONNECTED_LINE.test(line) && ++seen === count, timeoutMs);
  } catch (err) {
    if (err instanceof ProcessWaitError && err.kind === 'timeout') throw new Error(`${seen} of ${count} clients connected within ${timeoutMs} ms`, { cause: err });
    if (err instanceof ProcessWaitError && err.kind === 'exited') throw new Error(`the server exited with code ${err.exitCode} while the clients connected`, { cause: err });
    throw err;
  }
}

const stopChild = (child: Child, killAfterMs: number): Promise<number> => child.process.stop('SIGTERM', killAfterMs);
