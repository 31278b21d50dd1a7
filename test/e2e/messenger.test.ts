import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../helpers/database.js';
import { freePort, startNetlab, waitForHttp, type NetlabProcess } from '../helpers/netlab-process.js';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
const replicas: NetlabProcess[] = [];
const urls: string[] = [];

async function startReplica(): Promise<{ proc: NetlabProcess; url: string }> {
  const port = await freePort();
  const proc = startNetlab(['messenger', '--port', String(port), '--grace', '5s'], { DATABASE_URL: db.url });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/readyz`);
  return { proc, url };
}

async function count(sql: string): Promise<number> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    return Number((await client.query(sql)).rows[0].n);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  db = await createTestDatabase();
  for (let i = 0; i < 2; i++) {
    const r = await startReplica();
    replicas.push(r.proc);
    urls.push(r.url);
  }
});
afterAll(async () => {
  await Promise.all(replicas.map((r) => r.stop('SIGKILL')));
  await db.drop();
});

const post = (url: string, body: string, type = 'application/json') =>
  fetch(`${url}/messages`, { method: 'POST', headers: { 'content-type': type }, body });

describe('messenger replicas (separate processes)', () => {
  it('answers health, readiness and metrics', async () => {
    expect(await (await fetch(`${urls[0]}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${urls[0]}/readyz`)).json()).toEqual({ status: 'ready' });
    const metrics = await (await fetch(`${urls[1]}/metrics`)).text();
    expect(metrics).toMatch(/^netlab_messenger_db_up\{role="messenger"\} 1$/m);
    expect(metrics).toContain('netlab_process_cpu_seconds_total');
  });

  it.each([
    ['malformed JSON', '{"sender": "a",', 'application/json', 400, 'NETLAB_ERR_BAD_JSON'],
    ['wrong content type', '{"sender":"a","text":"b"}', 'text/plain', 415, 'NETLAB_ERR_UNSUPPORTED_MEDIA_TYPE'],
    ['missing text', '{"sender":"a"}', 'application/json', 400, 'NETLAB_ERR_BAD_REQUEST'],
    ['empty sender', '{"sender":"","text":"b"}', 'application/json', 400, 'NETLAB_ERR_BAD_REQUEST'],
    ['non-string text', '{"sender":"a","text":5}', 'application/json', 400, 'NETLAB_ERR_BAD_REQUEST'],
    ['sender over 64', JSON.stringify({ sender: 'x'.repeat(65), text: 'b' }), 'application/json', 400, 'NETLAB_ERR_BAD_REQUEST'],
    ['text over 4096', JSON.stringify({ sender: 'a', text: 'x'.repeat(4097) }), 'application/json', 400, 'NETLAB_ERR_BAD_REQUEST'],
    ['body over 64 KiB', JSON.stringify({ sender: 'a', text: 'b', pad: 'x'.repeat(70_000) }), 'application/json', 413, 'NETLAB_ERR_BODY_TOO_LARGE'],
  ])('rejects %s with %s and stores nothing', async (_name, body, type, status, code) => {
    const before = await count('SELECT last_seq AS n FROM message_clock');
    const res = await post(urls[0]!, body, type);
    expect(res.status).toBe(status);
    expect(await res.json()).toMatchObject({ error: expect.any(String), code });
    expect(await count('SELECT last_seq AS n FROM message_clock')).toBe(before);
  });

  it('answers 201 with the window ending at the caller, with every field', async () => {
    const res = await post(urls[1]!, JSON.stringify({ sender: 'zoe', text: 'hello' }));
    expect(res.status).toBe(201);
    const { messages } = (await res.json()) as { messages: Record<string, unknown>[] };
    const own = messages.at(-1)!;
    expect(own).toMatchObject({ sender: 'zoe', text: 'hello', userCount: 1 });
    expect(typeof own.seq).toBe('number');
    expect(own.sentAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(messages).toHaveLength(Math.min(10, own.seq as number));
  });

  it('keeps the four properties for the exercise workload over two replicas (bench --verify)', async () => {
    const bench = startNetlab(['messenger-bench', ...urls.flatMap((u) => ['--url', u]), '--workers', '100', '--requests', '20', '--verify']);
    expect(await bench.exited).toBe(0);
    expect(bench.stdout()).toContain('verify: all 4 properties hold');
    expect(bench.stdout()).toMatch(/requests: 2000 \(2000 ok, 0 failed/);
    for (const u of urls) expect(bench.stdout()).toContain(u);
  });

  it('loses and duplicates nothing when a replica is killed mid-run', async () => {
    const extra = await startReplica();
    const jsonFile = join(await mkdtemp(join(tmpdir(), 'netlab-bench-')), 'bench.json');
    const before = await count('SELECT count(*) AS n FROM messages');
    const bench = startNetlab(['messenger-bench', '--url', urls[0]!, '--url', extra.url, '--workers', '50', '--requests', '60', '--verify', '--json', jsonFile]);
    await bench.waitFor(/sending 3000 messages/);
    await new Promise((r) => setTimeout(r, 400));
    extra.proc.child.kill('SIGKILL');
    expect(await bench.exited, bench.output()).toBe(0);
    const result = JSON.parse(await readFile(jsonFile, 'utf8')) as { ok: number; retries: number; verify: { violations: number } };
    expect(result.ok).toBe(3000);
    expect(result.verify.violations).toBe(0);
    // Every answered message is stored once; requests cut off by the kill may be stored unanswered.
    const stored = (await count('SELECT count(*) AS n FROM messages')) - before;
    expect(stored).toBeGreaterThanOrEqual(3000);
    expect(stored).toBeLessThanOrEqual(3000 + result.retries);
    expect(await count('SELECT count(*) AS n FROM (SELECT sender, user_count FROM messages GROUP BY 1, 2 HAVING count(*) > 1) d')).toBe(0);
    expect(await count('SELECT max(seq) - count(*) AS n FROM messages')).toBe(0);
  });

  it('drains in-flight requests on SIGTERM and exits 0', async () => {
    const r = await startReplica();
    const inflight = Array.from({ length: 50 }, (_, i) => post(r.url, JSON.stringify({ sender: 'term', text: `t${i}` })).then((res) => res.status, () => 0));
    await new Promise((res) => setTimeout(res, 5));
    const code = await r.proc.stop('SIGTERM');
    const statuses = await Promise.all(inflight);
    expect(code).toBe(0);
    // Each request was either completed (201), or refused as the server closed (503/connection refused): never half-done.
    for (const s of statuses) expect([201, 503, 0]).toContain(s);
    expect(await count("SELECT count(*) AS n FROM messages WHERE sender = 'term'")).toBe(statuses.filter((s) => s === 201).length);
    expect(r.proc.output()).toMatch(/shutting down \(SIGTERM\)/);
  });

  it('reports a bad flag in one line with exit code 2', async () => {
    const p = startNetlab(['messenger', '--port', 'nope']);
    expect(await p.exited).toBe(2);
    expect(p.stderr().trim()).toBe('netlab messenger: --port: expected a whole number from 0 to 65535, got "nope"');
  });
});
