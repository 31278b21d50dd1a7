/**
 * The `tick` role: checks that --json can be written, builds the bus for the URL, waits for the
 * first connection, runs one TickApp, writes --json at the end. What cannot work is found at start:
 * an unwritable --json is bad usage (exit 2) before anything connects; a broker that does not
 * answer within --connect-timeout fails the run (exit 1) with one line saying what to do.
 */
import { access, mkdir, open, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { deferred, sleep, within } from '../core/async.js';
import { OptionError } from '../core/errors.js';
import { EXIT_FAILED, EXIT_OK } from '../core/exit-codes.js';
import type { RoleContext } from '../core/role.js';
import { brokerStartHint } from './broker-probe.js';
import { createBus, redactUrl } from './bus.js';
import { createTickMetrics } from './metrics.js';
import { NAME_PATTERN } from './protocol.js';
import { createTickRejections, TickApp, type PrintMode } from './tick-app.js';

export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

export interface TickCommandOptions {
  name: string;
  peer: string;
  bus: string | undefined;
  rate: number;
  channel: string;
  print: PrintMode;
  summaryEvery: number;
  duration: number;
  spin: number;
  warmup: number;
  json: string | undefined;
  /** ms to wait for the first connection before failing (0: retry forever). */
  connectTimeout?: number;
}

/** No broker answered at start: the run fails (exit 1) with this one line. */
export class BrokerUnreachableError extends Error {
  override name = 'BrokerUnreachableError';
}

/** --bus, else $NATS_URL, else $AMQP_URL, else the local NATS. */
export function resolveBusUrl(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  return flag ?? (env.NATS_URL || undefined) ?? (env.AMQP_URL || undefined) ?? DEFAULT_NATS_URL;
}

/**
 * Throws OptionError unless `file` can be created or overwritten now: its folder is made, the file
 * opened for appending (so nothing in it is lost) and, if it did not exist, removed again.
 */
export async function assertWritable(file: string, flag = '--json'): Promise<void> {
  const dir = dirname(file);
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    throw new OptionError(`${flag}: cannot write "${file}": cannot create its folder (${whyNot(err, dir)})`);
  }
  try {
    const existed = await access(file).then(() => true, () => false);
    await (await open(file, 'a')).close();
    if (!existed) await rm(file, { force: true });
  } catch (err) {
    throw new OptionError(`${flag}: cannot write "${file}" (${whyNot(err, file)})`);
  }
}

/** A file system error in words, with its code. */
function whyNot(err: unknown, path: string): string {
  const code = (err as NodeJS.ErrnoException).code;
  const words: Record<string, string> = {
    EEXIST: `a part of "${path}" is a file, not a folder`,
    ENOTDIR: `a part of "${path}" is a file, not a folder`,
    EACCES: 'permission denied',
    EPERM: 'permission denied',
    EROFS: 'read-only file system',
    EISDIR: 'it is a folder',
  };
  return code ? `${words[code] ?? 'error'}: ${code}` : String((err as Error).message ?? err);
}

export async function runTickCommand(o: TickCommandOptions, { logger, lifecycle, registry }: RoleContext): Promise<number | undefined> {
  const problems: string[] = [];
  if (!NAME_PATTERN.test(o.name)) problems.push(`--name: expected 1-64 letters, digits, _ or -, got "${o.name}"`);
  if (!NAME_PATTERN.test(o.peer)) problems.push(`--peer: expected 1-64 letters, digits, _ or -, got "${o.peer}"`);
  if (o.name === o.peer) problems.push(`--peer: must differ from --name ("${o.name}")`);
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(o.channel)) problems.push(`--channel: expected 1-64 letters, digits, _ or -, got "${o.channel}"`);
  const url = resolveBusUrl(o.bus, process.env);
  if (!/^(nats|amqps?):\/\//.test(url)) problems.push(`--bus: expected a URL starting with nats:// or amqp://, got "${url}"`);
  if (problems.length) throw new OptionError(problems.join('\n'));
  if (o.json) await assertWritable(o.json);

  const bus = await createBus(url, { clientName: `netlab-tick-${o.name}` });
  let connectedOnce = false;
  let lastProblem = 'no answer';
  const firstConnection = deferred();
  const stopWatchingStart = bus.onStatus((s) => {
    if (s.type === 'connected') {
      connectedOnce = true;
      firstConnection.resolve();
    } else if (s.type === 'retrying') lastProblem = s.reason;
  });
  const app = new TickApp({
    name: o.name,
    peer: o.peer,
    rate: o.rate,
    channel: o.channel,
    print: o.print,
    summaryEveryMs: o.summaryEvery,
    spinUs: o.spin * 1000,
    warmupUs: o.warmup * 1000,
    bus,
    logger,
    metrics: createTickMetrics(registry),
    rejections: createTickRejections(registry, logger),
  });
  logger.info({ name: o.name, peer: o.peer, bus: bus.displayUrl, rate: o.rate, channel: o.channel }, `${o.name} ticking ${o.rate}/s on ${bus.displayUrl}, listening for ${o.peer}`);
  const startedMs = performance.now();
  app.start();
  lifecycle.onShutdown('tick app', async () => {
    const result = await app.stop();
    if (o.json) {
      await mkdir(dirname(o.json), { recursive: true });
      await writeFile(o.json, JSON.stringify(result, null, 2) + '\n');
    }
  });

  const connectTimeout = o.connectTimeout ?? 0;
  // A run shorter than the connect timeout still fails if it never connected.
  const connectWaitMs = connectTimeout > 0 ? (o.duration > 0 ? Math.min(connectTimeout, o.duration) : connectTimeout) : 0;
  if (connectWaitMs > 0) await within(firstConnection.promise, connectWaitMs, lifecycle.signal);
  stopWatchingStart();
  if (connectWaitMs > 0 && !connectedOnce && !lifecycle.signal.aborted) {
    await bus.close();
    throw new BrokerUnreachableError(
      `no broker at ${redactUrl(url)} answered within ${(connectWaitMs / 1000).toFixed(1)} s (${lastProblem}); ${brokerStartHint(url)} (or --connect-timeout 0 to wait for it)`,
    );
  }
  if (o.duration <= 0) return undefined;
  await sleep(Math.max(0, o.duration - (performance.now() - startedMs)), lifecycle.signal);
  if (!lifecycle.signal.aborted && bus.connected && !bus.subscribed) {
    // Connected but deaf: the figures cover only what arrived before; the run must not pass as healthy.
    logger.error({ bus: bus.displayUrl, peer: o.peer }, `the subscription to ${o.peer}'s ticks on ${bus.displayUrl} was not live at the end of the run: ${o.peer}'s ticks were not being received`);
    return EXIT_FAILED;
  }
  return EXIT_OK;
}
