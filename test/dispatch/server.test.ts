import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_REPORT_BYTES } from '../../src/dispatch/protocol.js';
import { DispatchStore } from '../../src/dispatch/store.js';
import { isXid } from '../../src/dispatch/xid.js';
import { report, settle, startTestDispatcher, StreamClient, type TestDispatcher } from './helpers.js';

let d: TestDispatcher | undefined;
const clients: StreamClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await d?.stop();
  d = undefined;
});

async function open(batchsize: number | string): Promise<StreamClient> {
  const c = await StreamClient.open(d!.url, batchsize);
  clients.push(c);
  return c;
}

/** The store the running dispatcher writes (same process: read through its own environment). */
const store = (): DispatchStore => (d!.engine as unknown as { options: { store: DispatchStore } }).options.store;

describe('dispatcher over HTTP', () => {
  it('GET /task: SSE headers, client cookie, hello, then exactly N msg events until the report', async () => {
    d = await startTestDispatcher();
    const c = await open(5);
    expect(c.status).toBe(200);
    expect(c.headers!.get('content-type')).toMatch(/^text\/event-stream/);
    expect(c.headers!.get('x-accel-buffering')).toBe('no');
    expect(c.headers!.get('cache-control')).toBe('no-cache');
    expect(c.headers!.get('set-cookie')).toMatch(new RegExp(`^client=${c.client};`));
    expect(isXid(c.client)).toBe(true);
    expect(c.events[0]).toEqual({ event: 'hello', data: JSON.stringify({ client: c.client, batchsize: 5 }) });
    const msgs = await c.waitMessages(5);
    await settle(150);
    expect(c.messages()).toHaveLength(5);
    for (const e of c.events.slice(1)) {
      const m = JSON.parse(e.data) as { id: string; period: number };
      expect(e.event).toBe('msg');
      expect(e.id).toBe(m.id);
      expect(Object.keys(m).sort()).toEqual(['id', 'period']);
      expect(isXid(m.id)).toBe(true);
      expect(Number.isInteger(m.period) && m.period >= 1 && m.period <= 1000).toBe(true);
    }
    expect(new Set(msgs.map((m) => m.id)).size).toBe(5);
    expect(await (await fetch(`${d.url}/stats`)).json()).toMatchObject({ leased: 5, clients: 1, free: 0 });
  });

  it('serves every client its own batch size (1, 3 and the maximum)', async () => {
    d = await startTestDispatcher({ maxBatch: 50 });
    const sizes = [1, 3, 50];
    const cs = await Promise.all(sizes.map((n) => open(n)));
    await Promise.all(cs.map((c, i) => c.waitMessages(sizes[i]!)));
    await settle(100);
    expect(cs.map((c) => c.messages().length)).toEqual(sizes);
  });

  it('accepts reports by cookie, header and query, with either body form, then sends the next batch', async () => {
    d = await startTestDispatcher();
    const forms = [
      { how: 'cookie', body: (ids: string[]) => ids },
      { how: 'header', body: (ids: string[]) => ({ ids }) },
      { how: 'query', body: (ids: string[]) => ids },
    ] as const;
    for (const form of forms) {
      const c = await open(3);
      const ids = (await c.waitMessages(3)).map((m) => m.id);
      const res = await report(d.url, c.client, form.body(ids), form.how);
      expect(res, form.how).toEqual({ status: 200, body: { accepted: 3, ignored: 0 } });
      const next = await c.waitMessages(6);
      expect(next.slice(3).some((m) => ids.includes(m.id))).toBe(false);
      for (const id of ids) expect(store().getMessage(id)).toMatchObject({ state: 'done', done: { client: c.client } });
    }
  });

  it('ignores (and counts) ids not leased to the reporter: unknown, duplicates, another client\'s, already done', async () => {
    d = await startTestDispatcher();
    const a = await open(2);
    const b = await open(2);
    const aIds = (await a.waitMessages(2)).map((m) => m.id);
    const bIds = (await b.waitMessages(2)).map((m) => m.id);
    const res = await report(d.url, a.client, [aIds[0], aIds[0], bIds[0], 'not-an-id', '9m4e2mr0ui3e8a215n4g']);
    expect(res).toEqual({ status: 200, body: { accepted: 1, ignored: 4 } });
    // B still holds its messages: its own report takes them.
    expect(await report(d.url, b.client, bIds)).toEqual({ status: 200, body: { accepted: 2, ignored: 0 } });
    // A's done id reported again (a client without a batch now holds the next one): ignored.
    await a.waitMessages(4);
    expect((await report(d.url, a.client, [aIds[0]])).body).toEqual({ accepted: 0, ignored: 1 });
    expect(store().getMessage(aIds[1]!)!.attempts[0]).toMatchObject({ client: a.client, reason: 'not-reported' });
  });

  it('retries an unreported message up to the third attempt, then writes it to the LMDB dead letters and never sends it again', async () => {
    d = await startTestDispatcher({ backlog: 0, maxAttempts: 3 });
    const c = await open(2);
    const first = (await c.waitMessages(2)).map((m) => m.id);
    for (let attempt = 1; attempt <= 3; attempt++) {
      const batch = c.messages().slice(-2).map((m) => m.id);
      expect(batch.sort(), `attempt ${attempt} re-sends the failed messages first`).toEqual([...first].sort());
      expect(await report(d.url, c.client, [])).toEqual({ status: 200, body: { accepted: 0, ignored: 0 } });
      await c.waitMessages(2 * (attempt + 1));
    }
    const after = c.messages().slice(-2).map((m) => m.id);
    expect(after.some((id) => first.includes(id))).toBe(false);
    for (const id of first) {
      const letter = store().getDeadLetter(id)!;
      expect(letter.attempts).toHaveLength(3);
      expect(letter.attempts.every((a) => a.client === c.client && a.reason === 'not-reported')).toBe(true);
      expect(store().getMessage(id)).toMatchObject({ state: 'dead' });
    }
    const page = (await (await fetch(`${d.url}/dead-letters`)).json()) as { items: { id: string; attempts: unknown[] }[]; next: null };
    expect(page.items.map((i) => i.id).sort()).toEqual([...first].sort());
    expect(page.items[0]!.attempts[0]).toMatchObject({ client: c.client, reason: 'not-reported' });
    expect(page.next).toBeNull();
    expect(await (await fetch(`${d.url}/stats`)).json()).toMatchObject({ dead: 2, leased: 2, done: 0 });
  });

  it('pages dead letters with limit and after', async () => {
    d = await startTestDispatcher({ backlog: 0, maxAttempts: 1 });
    const c = await open(5);
    await c.waitMessages(5);
    await report(d.url, c.client, []);
    const all: string[] = [];
    let after = '';
    for (let i = 0; i < 5; i++) {
      const page = (await (await fetch(`${d.url}/dead-letters?limit=2&after=${after}`)).json()) as { items: { id: string }[]; next: string | null };
      all.push(...page.items.map((x) => x.id));
      if (!page.next) break;
      after = page.next;
    }
    expect(all).toEqual(c.messages().slice(0, 5).map((m) => m.id).sort());
  });

  it('a closed stream fails its batch (stream-closed) and the messages go to another client', async () => {
    d = await startTestDispatcher({ backlog: 0 });
    const a = await open(3);
    const lost = (await a.waitMessages(3)).map((m) => m.id);
    a.close();
    await settle(100);
    for (const id of lost) expect(store().getMessage(id)).toMatchObject({ state: 'queued', attempts: [{ client: a.client, reason: 'stream-closed' }] });
    const b = await open(3);
    expect((await b.waitMessages(3)).map((m) => m.id).sort()).toEqual([...lost].sort());
    // A is gone: its late report is answered (all ignored), not refused.
    expect(await report(d.url, a.client, lost)).toEqual({ status: 200, body: { accepted: 0, ignored: 3 } });
  });

  it('an expired lease fails the batch; the client gets nothing new until it reports, and its late report is ignored', async () => {
    d = await startTestDispatcher({ leaseMs: 200 });
    const a = await open(2);
    const ids = (await a.waitMessages(2)).map((m) => m.id);
    await settle(400);
    for (const id of ids) expect(store().getMessage(id)).toMatchObject({ state: 'queued', attempts: [{ reason: 'lease-expired' }] });
    expect(a.messages()).toHaveLength(2);
    expect((await report(d.url, a.client, ids)).body).toEqual({ accepted: 0, ignored: 2 });
    const next = await a.waitMessages(4);
    expect(next.slice(2).map((m) => m.id).sort()).toEqual([...ids].sort());
  });

  it('a report read after the lease ended by the clock is too late, even before the lease timer has run', async () => {
    d = await startTestDispatcher({ leaseMs: 30_000 });
    const a = await open(2);
    const ids = (await a.waitMessages(2)).map((m) => m.id);
    // A busy event loop: the clock is past the lease's end, its timer has not run, and the report is read first.
    const realNow = Date.now.bind(Date);
    const clock = vi.spyOn(Date, 'now').mockImplementation(() => realNow() + 30_001);
    try {
      expect(await d.engine.report(a.client, ids)).toEqual({ accepted: 0, ignored: 2 });
    } finally {
      clock.mockRestore();
    }
    // Failed once, by the lease, and (the client being free again) already leased to it anew.
    for (const id of ids) expect(store().getMessage(id)).toMatchObject({ attempts: [{ client: a.client, reason: 'lease-expired' }] });
    const next = await a.waitMessages(4);
    expect(next.slice(2).map((m) => m.id).sort()).toEqual([...ids].sort());
  });

  it('sends a ": ping" comment on every stream', async () => {
    d = await startTestDispatcher({ pingMs: 50 });
    const c = await open(1);
    await c.until(() => c.comments.length >= 2);
    expect(c.comments[0]).toBe('ping');
  });

  it('answers every bad input with 400 (413 too large, 415 not JSON) and a JSON reason, and loses nothing', async () => {
    d = await startTestDispatcher({ maxBatch: 100 });
    const c = await open(4);
    const ids = (await c.waitMessages(4)).map((m) => m.id);
    const json = { 'content-type': 'application/json' };
    const bad: [string, RequestInit | undefined, RegExp, number?][] = [
      ['/task', undefined, /batchsize is required/],
      ['/task?batchsize=0', undefined, /from 1 to 100/],
      ['/task?batchsize=-3', undefined, /whole number/],
      ['/task?batchsize=abc', undefined, /whole number/],
      ['/task?batchsize=101', undefined, /from 1 to 100/],
      ['/task?batchsize=1e9', undefined, /whole number/],
      ['/task?batchsize=99999999999999999999', undefined, /from 1 to 100/],
      [`/report?client=${c.client}`, { method: 'POST', headers: json, body: '{not json' }, /not valid JSON/],
      [`/report?client=${c.client}`, { method: 'POST', headers: json, body: '' }, /not valid JSON/],
      [`/report?client=${c.client}`, { method: 'POST', headers: json, body: '{"id":"x"}' }, /must be/],
      [`/report?client=${c.client}`, { method: 'POST', headers: json, body: '[1]' }, /string/],
      // Over the limit: 413 as the messenger answers (the body reader is the same); so is a wrong type 415.
      [`/report?client=${c.client}`, { method: 'POST', headers: json, body: JSON.stringify(Array(4000).fill('x'.repeat(20))) }, new RegExp(`over ${MAX_REPORT_BYTES} bytes`), 413],
      [`/report?client=${c.client}`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(ids) }, /application\/json/, 415],
      [`/report?client=${c.client}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'ids=1' }, /application\/json/, 415],
      ['/report?client=dc14aa2jueqh1h6kodr0', { method: 'POST', headers: json, body: '[]' }, /unknown client/],
      ['/report', { method: 'POST', headers: json, body: '[]' }, /no client id/],
      ['/dead-letters?limit=0', undefined, /limit/],
      ['/dead-letters?after=zzz', undefined, /after/],
    ];
    for (const [path, init, reasonText, status = 400] of bad) {
      const res = await fetch(d.url + path, init);
      const body = (await res.json()) as { error: string; code: string };
      expect(res.status, path).toBe(status);
      expect(body.error, path).toMatch(reasonText);
      expect(body.code, path).toMatch(/^NETLAB_ERR_/);
    }
    // The dispatcher is fine, the batch is still leased to the client, and its good report works.
    expect(await (await fetch(`${d.url}/stats`)).json()).toMatchObject({ leased: 4, clients: 1, done: 0 });
    expect((await report(d.url, c.client, ids)).body).toEqual({ accepted: 4, ignored: 0 });
    c.close();
    const audit = await d.auditAfterStop({ maxAttempts: 3 });
    expect(audit.byState.done).toBe(4);
    expect(audit.checks.filter((x) => !x.pass)).toEqual([]);
  });

  it('never leases a message to two clients at once: 100 concurrent clients, random partial reports', async () => {
    d = await startTestDispatcher({ backlog: 0, maxAttempts: 3 });
    const ROUNDS = 6;
    const held = new Map<string, string>();
    const violations: string[] = [];
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const run = async (): Promise<void> => {
      const size = 1 + Math.floor(rnd() * 5);
      const c = await open(size);
      for (let r = 0; r < ROUNDS; r++) {
        const batch = (await c.waitMessages(size * (r + 1), 15_000)).slice(size * r).map((m) => m.id);
        for (const id of batch) {
          if (held.has(id)) violations.push(`${id} held by ${held.get(id)} and ${c.client}`);
          held.set(id, c.client);
        }
        await settle(rnd() * 10);
        const ok = batch.filter(() => rnd() < 0.6);
        for (const id of batch) held.delete(id);
        await report(d!.url, c.client, ok);
      }
    };
    await Promise.all(Array.from({ length: 100 }, run));
    expect(violations).toEqual([]);
    for (const c of clients) c.close();
    const audit = await d.auditAfterStop({ maxAttempts: 3 });
    expect(audit.checks.filter((x) => !x.pass)).toEqual([]);
    expect(audit.byState.leased).toBe(0);
    expect(audit.byState.done).toBeGreaterThan(500);
    expect(audit.byState.dead).toBeGreaterThan(0);
  });
});
