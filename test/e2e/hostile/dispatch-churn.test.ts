import { afterEach, describe, expect, it } from 'vitest';
import { auditStore } from '../../../src/dispatch/accounting.js';
import type { StatsBody } from '../../../src/dispatch/protocol.js';
import { DispatchStore } from '../../../src/dispatch/store.js';
import { report, StreamClient, tempDir } from '../../dispatch/helpers.js';
import { freePort, startNetlabPerTest, waitForHttp } from '../../helpers/netlab-process.js';

const netlab = startNetlabPerTest();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function dispatcher(extra: string[]) {
  const { dir, remove } = await tempDir();
  cleanups.push(remove);
  const port = await freePort();
  const p = netlab(['dispatcher', '--host', '127.0.0.1', '--port', String(port), '--data', dir, '--log-level', 'warn', ...extra]);
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/readyz`);
  return { p, url, dir };
}

const stats = async (url: string): Promise<StatsBody> => (await (await fetch(`${url}/stats`)).json()) as StatsBody;
const metric = async (url: string, name: string): Promise<number> => {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return Number(line?.split(' ').at(-1));
};

/** `total` streams asking `batchsize`, `parallel` at a time, each dropped as soon as its hello arrives. */
async function churn(url: string, total: number, parallel: number, batchsize: number): Promise<void> {
  let started = 0;
  const lane = async () => {
    while (started < total) {
      started++;
      const c = await StreamClient.open(url, batchsize);
      c.close();
    }
  };
  await Promise.all(Array.from({ length: parallel }, lane));
}

async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms; last ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('client churn keeps the dispatcher bounded', () => {
  it('streams that drop at once: generation stops at the credit, dead letters stay within the retention limit, the oldest evicted and counted', async () => {
    const CREDIT = 400;
    const KEEP = 100;
    const { p, url, dir } = await dispatcher(['--generation-credit', String(CREDIT), '--max-dead-letters', String(KEEP), '--abandoned-window', '10m', '--lease', '5s']);
    // Without the bounds, 300 streams of 50 generate about 300 * 50 / 3 = 5,000 messages, all dead-lettered.
    await churn(url, 300, 25, 50);
    const s = await until(() => stats(url), (v) => v.clients === 0 && v.leased === 0);
    // Nobody reported anything (done 0): generation is bounded by the credit alone.
    expect(s.done).toBe(0);
    expect(s.generated).toBeGreaterThan(0);
    expect(s.generated).toBeLessThanOrEqual(CREDIT);
    // Every message abandoned (three stream losses) went to the dead letters; at most KEEP are kept.
    expect(s.abandoned).toBeGreaterThan(KEEP);
    expect(s.dead).toBeLessThanOrEqual(KEEP);
    expect(s.evicted).toBe(s.abandoned - s.dead);
    expect(await metric(url, 'netlab_dispatch_dead_letters_evicted_total')).toBe(s.evicted);
    expect(await metric(url, 'netlab_dispatch_dead_letters_total')).toBe(s.dead + s.evicted);
    expect(await metric(url, 'netlab_dispatch_generation_credit')).toBe(Math.max(0, CREDIT - s.queued - s.abandoned));
    const page = (await (await fetch(`${url}/dead-letters?limit=1000`)).json()) as { items: { id: string }[] };
    expect(page.items.length).toBe(s.dead);

    expect(await p.stop('SIGTERM')).toBe(0);
    const store = new DispatchStore(dir, { readOnly: true });
    try {
      const audit = auditStore(store, { maxAttempts: 3 });
      expect(audit.checks.filter((c) => !c.pass)).toEqual([]);
      expect(audit.evicted).toBe(s.evicted);
      expect(audit.deadLetters).toBe(s.dead);
    } finally {
      await store.root.close();
    }
  });

  it('what churners abandoned is forgiven after --abandoned-window: a client that comes later is served and its work counts', async () => {
    const { url } = await dispatcher(['--generation-credit', '20', '--abandoned-window', '2s', '--max-attempts', '1', '--backlog', '0']);
    await churn(url, 10, 2, 5);
    // The credit is spent on abandoned messages: a new client waits (its batch cannot be filled)...
    await until(() => stats(url), (v) => v.clients === 0 && v.leased === 0 && v.generationCredit < 5);
    const worker = await StreamClient.open(url, 5);
    // ...until the window forgives them; then it gets a whole batch and its report counts.
    const ids = (await worker.waitMessages(5, 20_000)).map((m) => m.id);
    expect((await report(url, worker.client, ids)).body).toEqual({ accepted: 5, ignored: 0 });
    expect((await stats(url)).done).toBe(5);
    worker.close();
  });
});
