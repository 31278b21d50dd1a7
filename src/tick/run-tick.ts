/** The `tick` role: builds the bus for the URL, runs one TickApp, writes --json at the end. */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { sleep } from '../core/lifecycle.js';
import type { RoleContext } from '../core/role.js';
import { createBus } from './bus.js';
import { createTickMetrics } from './metrics.js';
import { NAME_PATTERN } from './protocol.js';
import { TickApp, type PrintMode } from './tick-app.js';
import { OptionError } from '../core/errors.js';

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
}

/** --bus, else $NATS_URL, else $AMQP_URL, else the local NATS. */
export function resolveBusUrl(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  return flag ?? (env.NATS_URL || undefined) ?? (env.AMQP_URL || undefined) ?? DEFAULT_NATS_URL;
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

  let app: TickApp | undefined;
  const bus = await createBus(url, { clientName: `netlab-tick-${o.name}`, onStatus: (s) => app?.onBusStatus(s) });
  app = new TickApp({
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
  });
  logger.info({ name: o.name, peer: o.peer, bus: bus.displayUrl, rate: o.rate, channel: o.channel }, `${o.name} ticking ${o.rate}/s on ${bus.displayUrl}, listening for ${o.peer}`);
  app.start();
  const running = app;
  lifecycle.onShutdown('tick app', async () => {
    const result = await running.stop();
    if (o.json) {
      await mkdir(dirname(o.json), { recursive: true });
      await writeFile(o.json, JSON.stringify(result, null, 2) + '\n');
    }
  });
  if (o.duration <= 0) return undefined;
  await sleep(o.duration, lifecycle.signal);
  return 0;
}
