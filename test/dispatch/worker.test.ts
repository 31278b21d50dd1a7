import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT_TASK_CRASH } from '../../src/core/exit-codes.js';
import { createRandom } from '../../src/core/prng.js';
import { MAX_RANDOM_BATCH, MIN_RANDOM_BATCH, Worker, type WorkerOptions } from '../../src/dispatch/worker.js';
import { silentLogger } from '../helpers/logger.js';
import { settle, startTestDispatcher, type TestDispatcher } from './helpers.js';
import { msg, ScriptedDispatcher } from './scripted-dispatcher.js';

let scripted: ScriptedDispatcher | undefined;
let real: TestDispatcher | undefined;
const stops: AbortController[] = [];
afterEach(async () => {
  for (const s of stops.splice(0)) s.abort();
  await scripted?.stop();
  scripted = undefined;
  await real?.stop();
  real = undefined;
});

function capturingLogger(): { logger: pino.Logger; lines: () => { level: number; msg: string }[] } {
  const out: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines: () => out.map((l) => JSON.parse(l) as { level: number; msg: string }) };
}

function startWorker(url: string, options: Partial<WorkerOptions> = {}): { worker: Worker; done: Promise<number | undefined>; exits: number[] } {
  const stop = new AbortController();
  stops.push(stop);
  const exits: number[] = [];
  const worker = new Worker({ url, timeScale: 0.01, random: createRandom(1), logger: silentLogger, signal: stop.signal, onExit: (c) => exits.push(c), ...options });
  return { worker, done: worker.run(), exits };
}

describe('worker rules', () => {
  it('picks a random batch size from 2 to 10, both ends possible, when none is given', () => {
    const seen = new Set<number>();
    for (let seed = 0; seed < 300; seed++) seen.add(new Worker({ url: 'http://127.0.0.1:1', timeScale: 0, random: createRandom(seed), logger: silentLogger, signal: AbortSignal.abort() }).batchsize);
    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: MAX_RANDOM_BATCH - MIN_RANDOM_BATCH + 1 }, (_, i) => MIN_RANDOM_BATCH + i));
  });

  it('sleeps each period, reports only the tasks that succeeded once all N ended; a panic (period > 800) is caught and the worker goes on', async () => {
    scripted = await ScriptedDispatcher.start();
    const { logger, lines } = capturingLogger();
    const { worker, exits } = startWorker(scripted.url, { batchsize: 4, logger, timeScale: 0.05 });
    await scripted.until(() => scripted!.streams.length === 1);
    const s = scripted.streams[0]!;
    expect(s.batchsize).toBe(4);
    const batch = [msg(10), msg(850), msg(800), msg(1)];
    const sent = Date.now();
    s.send(batch);
    await scripted.until(() => scripted!.reports.length === 1);
    // The report waits for the longest task (850 ms x 0.05 = 42.5 ms), the panicking one.
    expect(Date.now() - sent).toBeGreaterThanOrEqual(40);
    expect(scripted.reports[0]!.client).toBe(s.client);
    expect(scripted.reports[0]!.ids.sort()).toEqual([batch[0]!.id, batch[2]!.id, batch[3]!.id].sort());
    expect(lines().some((l) => l.level === 40 && /panicked: period 850 > 800/.test(l.msg))).toBe(true);
    const next = [msg(801), msg(2), msg(3), msg(4)];
    s.send(next);
    await scripted.until(() => scripted!.reports.length === 2);
    expect(scripted.reports[1]!.ids.sort()).toEqual(next.slice(1).map((m) => m.id).sort());
    expect(exits).toEqual([]);
    expect(worker.stats.tasks).toMatchObject({ succeeded: 6, panicked: 2, rejected: 0 });
  });

  it('a period over 900 ends the whole worker with a non-zero code when that task ends, without a report', async () => {
    scripted = await ScriptedDispatcher.start();
    const { done, exits, worker } = startWorker(scripted.url, { batchsize: 3, timeScale: 0.05 });
    await scripted.until(() => scripted!.streams.length === 1);
    scripted.streams[0]!.send([msg(1), msg(950), msg(500)]);
    expect(await done).toBe(EXIT_TASK_CRASH);
    expect(exits).toEqual([EXIT_TASK_CRASH]);
    await settle(100);
    expect(scripted.reports).toEqual([]);
    expect(worker.stats.tasks.succeeded).toBe(2);
    expect(scripted.streams).toHaveLength(1);
  });

  it('a message arriving while N tasks already run is logged as an error and starts no task', async () => {
    scripted = await ScriptedDispatcher.start();
    const { logger, lines } = capturingLogger();
    const { worker } = startWorker(scripted.url, { batchsize: 2, logger, timeScale: 0.1 });
    await scripted.until(() => scripted!.streams.length === 1);
    const batch = [msg(200), msg(200), msg(5)];
    scripted.streams[0]!.send(batch);
    await scripted.until(() => scripted!.reports.length === 1);
    expect(scripted.reports[0]!.ids.sort()).toEqual([batch[0]!.id, batch[1]!.id].sort());
    expect(worker.stats.tasks.rejected).toBe(1);
    expect(lines().some((l) => l.level === 50 && l.msg.includes(`${batch[2]!.id} arrived while 2 tasks already run`))).toBe(true);
  });

  it('reconnects with backoff when the stream is lost, dropping the lost batch', async () => {
    scripted = await ScriptedDispatcher.start();
    startWorker(scripted.url, { batchsize: 2, timeScale: 0.2 });
    await scripted.until(() => scripted!.streams.length === 1);
    scripted.streams[0]!.send([msg(100), msg(100)]);
    await settle(5);
    scripted.streams[0]!.end();
    await scripted.until(() => scripted!.streams.length === 2);
    scripted.streams[1]!.end();
    await scripted.until(() => scripted!.streams.length === 3);
    await settle(60);
    expect(scripted.reports).toEqual([]);
    const s = scripted.streams[2]!;
    const m = [msg(1), msg(2)];
    s.send(m);
    await scripted.until(() => scripted!.reports.length === 1);
    expect(scripted.reports[0]).toEqual({ client: s.client, ids: expect.arrayContaining(m.map((x) => x.id)) });
  });

  it('20 real workers on a real dispatcher: every message accounted for, the panic and exit rules visible in the store', async () => {
    real = await startTestDispatcher({ backlog: 20 });
    const stop = new AbortController();
    stops.push(stop);
    let accepted = 0;
    let exits = 0;
    const slot = async (i: number): Promise<void> => {
      for (let n = 0; !stop.signal.aborted; n++) {
        const w = new Worker({ url: real!.url, timeScale: 0.002, random: createRandom(i * 1000 + n), logger: silentLogger, signal: stop.signal });
        const code = await w.run();
        accepted += w.stats.accepted;
        if (code === undefined) return;
        exits++;
      }
    };
    const slots = Promise.all(Array.from({ length: 20 }, (_, i) => slot(i)));
    // Run until there is something to account for (fast on an idle machine, slower on a busy one).
    for (let i = 0; i < 150; i++) {
      const s = real.engine.stats();
      if (s.done >= 30 && s.dead >= 5) break;
      await settle(100);
    }
    stop.abort();
    await slots;
    // Read back what is on disk once the dispatcher has stopped (its open leases fail as dispatcher-shutdown).
    const audit = await real.auditAfterStop({ maxAttempts: 3, workerRules: true, acceptedByWorkers: accepted });
    expect(audit.checks.filter((c) => !c.pass)).toEqual([]);
    expect(audit.byState.leased).toBe(0);
    expect(audit.byState.done).toBeGreaterThanOrEqual(29);
    expect(audit.byState.dead).toBeGreaterThanOrEqual(5);
    expect(exits).toBeGreaterThan(0);
    expect(audit.attemptsByReason['not-reported']).toBeGreaterThan(0);
    expect(audit.attemptsByReason['stream-closed']).toBeGreaterThan(0);
  });
});
