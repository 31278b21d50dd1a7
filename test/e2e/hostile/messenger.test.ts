import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEADERS_TIMEOUT_MS, SHUTDOWN_RETRY_AFTER_S, TIMEOUT_CHECK_INTERVAL_MS } from '../../../src/core/http.js';
import { createTestDatabase } from '../../helpers/database.js';
import { freePort, startNetlab, waitForHttp, type NetlabProcess } from '../../helpers/netlab-process.js';

// The messenger against hostile or unlucky clients, each a real process on a real PostgreSQL.

let db: Awaited<ReturnType<typeof createTestDatabase>>;
const started: NetlabProcess[] = [];

async function startReplica(env: NodeJS.ProcessEnv = {}, flags: string[] = []): Promise<{ proc: NetlabProcess; url: string; port: number }> {
  const port = await freePort();
  const proc = startNetlab(['messenger', '--port', String(port), '--grace', '10s', ...flags], { DATABASE_URL: db.url, ...env });
  started.push(proc);
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/readyz`);
  return { proc, url, port };
}

async function query<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

const lastSeq = async () => Number((await query<{ n: string }>('SELECT last_seq AS n FROM message_clock'))[0]!.n);

/** One Prometheus sample from the replica's /metrics (0 when the series is absent). */
async function metric(url: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

const rssBytes = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

/** A raw connection that collects everything the server sends until it closes. */
function rawConnection(port: number): { socket: Socket; received: () => string; closed: Promise<void> } {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  let data = '';
  socket.on('data', (c: Buffer) => (data += c.toString('latin1')));
  return { socket, received: () => data, closed: new Promise((resolve) => socket.once('close', () => resolve())) };
}

const postRequest = (body: string | Buffer, extraHeaders = '') =>
  Buffer.concat([
    Buffer.from(`POST /messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extraHeaders}\r\n`),
    Buffer.from(body),
  ]);

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await Promise.all(started.map((p) => p.stop('SIGKILL')));
  await db.drop();
});

describe('messenger under bad input', () => {
  let shared: Awaited<ReturnType<typeof startReplica>>;
  beforeAll(async () => {
    shared = await startReplica({ LOG_LEVEL: 'debug' });
  });

  const post = (body: string | Buffer, type = 'application/json') => fetch(`${shared.url}/messages`, { method: 'POST', headers: { 'content-type': type }, body });

  it.each([
    ['a lone surrogate escape', 400, 'NETLAB_ERR_BAD_REQUEST', Buffer.from('{"sender":"a","text":"x\\ud800y"}'), 'application/json', /lone surrogate/],
    ['a lone low surrogate in the sender', 400, 'NETLAB_ERR_BAD_REQUEST', Buffer.from('{"sender":"\\udc00","text":"y"}'), 'application/json', /"sender" must be valid Unicode/],
    ['bytes that are not UTF-8', 400, 'NETLAB_ERR_BAD_REQUEST', Buffer.concat([Buffer.from('{"sender":"a","text":"x'), Buffer.from([0xff, 0xfe]), Buffer.from('y"}')]), 'application/json', /not valid UTF-8/],
    ['a truncated UTF-8 sequence', 400, 'NETLAB_ERR_BAD_REQUEST', Buffer.concat([Buffer.from('{"sender":"a","text":"x'), Buffer.from([0xe2, 0x82]), Buffer.from('"}')]), 'application/json', /not valid UTF-8/],
    ['charset=latin1', 415, 'NETLAB_ERR_UNSUPPORTED_MEDIA_TYPE', Buffer.from('{"sender":"a","text":"caf\xe9"}', 'latin1'), 'application/json; charset=latin1', /charset must be utf-8/],
  ])('rejects %s with %i and stores nothing', async (_name, status, code, body, type, message) => {
    const before = await lastSeq();
    const res = await post(body, type);
    expect(res.status).toBe(status);
    const answer = (await res.json()) as { error: string; code: string };
    expect(answer.code).toBe(code);
    expect(answer.error).toMatch(message);
    expect(await lastSeq()).toBe(before);
  });

  it('stores well-formed text exactly: a surrogate pair escape, and charset=utf-8', async () => {
    const res = await post('{"sender":"ann","text":"smile \\ud83d\\ude00 caf\u00e9"}', 'application/json; charset="UTF-8"');
    expect(res.status).toBe(201);
    const { messages } = (await res.json()) as { messages: { seq: number; text: string }[] };
    const own = messages.at(-1)!;
    expect(own.text).toBe('smile \u{1f600} caf\u00e9');
    expect((await query<{ text: string }>('SELECT text FROM messages WHERE seq = $1', [own.seq]))[0]!.text).toBe('smile \u{1f600} caf\u00e9');
  });

  it('a client that goes away mid-body is a debug line and a 499 in the metrics, not a 500', async () => {
    const labels = { route: '/messages', method: 'POST', status: '499' };
    const before = await metric(shared.url, 'netlab_http_requests_total', labels);
    const errorsBefore = await metric(shared.url, 'netlab_http_requests_total', { route: '/messages', method: 'POST', status: '500' });
    const conn = rawConnection(shared.port);
    const full = '{"sender":"gone","text":"' + 'x'.repeat(500) + '"}';
    conn.socket.write(Buffer.from(`POST /messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${full.length}\r\n\r\n${full.slice(0, 40)}`));
    // The server has the headers once the request is in flight (the /metrics request itself is the other one); then the client leaves.
    while ((await metric(shared.url, 'netlab_http_requests_in_flight')) < 2) await new Promise((r) => setTimeout(r, 20));
    conn.socket.destroy();
    await shared.proc.waitFor(/client closed the connection before its request was read/);
    while ((await metric(shared.url, 'netlab_http_requests_total', labels)) < before + 1) await new Promise((r) => setTimeout(r, 20));
    expect(await metric(shared.url, 'netlab_http_requests_total', labels)).toBe(before + 1);
    expect(await metric(shared.url, 'netlab_http_requests_total', { route: '/messages', method: 'POST', status: '500' })).toBe(errorsBefore);
    expect(shared.proc.output()).not.toMatch(/unhandled error in request/);
    expect(shared.proc.output()).not.toMatch(/"level":50/);
  });

  it('a valid POST followed by garbage on the same connection gets its 201 (and is stored) before the 400 and the close', async () => {
    const conn = rawConnection(shared.port);
    conn.socket.write(Buffer.concat([postRequest('{"sender":"pipe","text":"before the garbage"}'), Buffer.from('\x00\x01 NOT HTTP AT ALL\r\n\r\n')]));
    await conn.closed;
    const text = conn.received();
    const created = text.indexOf('HTTP/1.1 201');
    const bad = text.indexOf('HTTP/1.1 400');
    expect(created, text).toBe(0);
    expect(bad, text).toBeGreaterThan(created);
    const seq = (JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4, bad)) as { messages: { seq: number }[] }).messages.at(-1)!.seq;
    expect(await query('SELECT 1 FROM messages WHERE seq = $1 AND sender = $2', [seq, 'pipe'])).toHaveLength(1);
  });

  it(`a client that sends its headers slowly gets 408 within ${HEADERS_TIMEOUT_MS} ms (+ the check interval), while an idle keep-alive connection is kept`, async () => {
    // An idle keep-alive connection, quiet for longer than the headers timeout, must not be cut.
    const idle = new Agent({ keepAlive: true, maxSockets: 1 });
    const get = () =>
      new Promise<number>((resolve, reject) => {
        request(`${shared.url}/healthz`, { agent: idle }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
        })
          .on('error', reject)
          .end();
      });
    expect(await get()).toBe(200);
    const idleSocket = Object.values(idle.freeSockets)[0]![0]!;

    const conn = rawConnection(shared.port);
    await new Promise((r) => conn.socket.once('connect', r));
    const sentAt = performance.now();
    conn.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    await conn.closed;
    const elapsed = performance.now() - sentAt;
    expect(conn.received()).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);
    expect(elapsed).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 100);
    expect(elapsed).toBeLessThan(HEADERS_TIMEOUT_MS + TIMEOUT_CHECK_INTERVAL_MS + 3000);

    expect(idleSocket.destroyed).toBe(false);
    expect(await get()).toBe(200);
    expect(Object.values(idle.freeSockets)[0]![0]).toBe(idleSocket); // the same connection, reused
    idle.destroy();
  }, 30_000);
});

describe('messenger under a reader that never reads', () => {
  it('pipelined 4 MB answers nobody reads: memory stays bounded, other clients get 200/201, the database stays up', async () => {
    const r = await startReplica();
    const pid = r.proc.child.pid!;
    // 1000 messages of 4096 characters: GET /messages?limit=1000 answers about 4 MB.
    const n = 1000;
    await query('SELECT netlab_append_messages($1::text[], $2::text[])', [Array.from({ length: n }, () => 'big'), Array.from({ length: n }, (_, i) => String(i % 10).repeat(4096))]);
    const warm = await fetch(`${r.url}/messages?limit=1000`);
    expect((await warm.text()).length).toBeGreaterThan(4_000_000);
    const baseline = rssBytes(pid);
    const bound = baseline + 256 * 1024 * 1024;
    const getsBefore = await metric(r.url, 'netlab_http_requests_total', { route: '/messages', method: 'GET', status: '200' });

    // The attacker: 300 pipelined requests (about 1.2 GB of answers), and it never reads.
    const hostile = connect({ host: '127.0.0.1', port: r.port });
    hostile.on('error', () => {});
    hostile.pause();
    const requests = 300;
    hostile.write('GET /messages?limit=1000 HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(requests));
    // Wait until the server has taken up the attack (answered some of it).
    while ((await metric(r.url, 'netlab_http_requests_total', { route: '/messages', method: 'GET', status: '200' })) < getsBefore + 1) {
      await new Promise((res) => setTimeout(res, 20));
    }

    let peak = rssBytes(pid);
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) {
      const posted = await fetch(`${r.url}/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sender: 'good', text: `m${i}` }) });
      await posted.arrayBuffer();
      const read = await fetch(`${r.url}/messages?limit=5`);
      await read.arrayBuffer();
      statuses.push(posted.status, read.status);
      expect(await metric(r.url, 'netlab_messenger_db_up')).toBe(1);
      peak = Math.max(peak, rssBytes(pid));
      if (peak > bound) break; // the unbounded server would take the machine's memory; stop here
    }
    const hostileAnswered = (await metric(r.url, 'netlab_http_requests_total', { route: '/messages', method: 'GET', status: '200' })) - getsBefore - 40;
    hostile.destroy();

    expect(peak, `RSS grew from ${(baseline / 2 ** 20).toFixed(0)} MiB to ${(peak / 2 ** 20).toFixed(0)} MiB`).toBeLessThanOrEqual(bound);
    expect(statuses.every((s) => s === 200 || s === 201), JSON.stringify(statuses)).toBe(true);
    // Backpressure, not luck: only the few requests whose answers fit the connection's buffers were handled.
    expect(hostileAnswered).toBeLessThan(50);
    expect(r.proc.output()).not.toMatch(/database unavailable/);
    expect(await metric(r.url, 'netlab_messenger_db_up')).toBe(1);
  });
  it('a saturated pool answers 503 "database busy" but does not mark the database down', async () => {
    const r = await startReplica({}, ['--pool-size', '1']);
    // The replica's only connection waits on a lock held here; every other request waits for the pool.
    const locker = new pg.Client({ connectionString: db.url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE messages IN ACCESS EXCLUSIVE MODE');
      const blocked = fetch(`${r.url}/messages?limit=1`);
      while ((await query("SELECT 1 FROM pg_stat_activity WHERE application_name = 'netlab-messenger' AND wait_event_type = 'Lock'")).length === 0) {
        await new Promise((res) => setTimeout(res, 20));
      }
      const queued = await Promise.all(Array.from({ length: 4 }, () => fetch(`${r.url}/messages?limit=1`).then(async (res) => ({ status: res.status, body: (await res.json()) as { error: string; code: string } }))));
      for (const q of queued) expect(q).toMatchObject({ status: 503, body: { code: 'NETLAB_ERR_DB_UNAVAILABLE', error: expect.stringMatching(/database busy/) } });
      expect(await metric(r.url, 'netlab_messenger_db_up')).toBe(1);
      await locker.query('COMMIT');
      expect((await blocked).status).toBe(200);
    } finally {
      await locker.end();
    }
    expect((await fetch(`${r.url}/messages?limit=1`)).status).toBe(200);
    expect(await metric(r.url, 'netlab_messenger_db_up')).toBe(1);
    expect(r.proc.output()).not.toMatch(/database unavailable/);
  });
});

describe('messenger SIGTERM under keep-alive load', () => {
  it('32 keep-alive clients looping POSTs: no request is reset, each is 201 (and stored) or 503 SHUTTING_DOWN', async () => {
    const r = await startReplica();
    type Outcome = { status: number; code?: string; retryAfter?: string; connection?: string; sender: string; text: string } | { error: string };
    const outcomes: Outcome[] = [];
    let created = 0;
    let sigterm: () => void = () => {};
    const enoughLoad = new Promise<void>((resolve) => (sigterm = resolve));

    const client = async (id: number) => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        for (let i = 0; ; i++) {
          const sender = `k${id}`;
          const text = `m${i}`;
          const body = JSON.stringify({ sender, text });
          const result = await new Promise<Outcome>((resolve) => {
            const req = request(`${r.url}/messages`, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
              let data = '';
              res.on('data', (c: Buffer) => (data += c.toString()));
              res.on('end', () => {
                const code = res.statusCode === 201 ? undefined : (JSON.parse(data) as { code?: string }).code;
                resolve({ status: res.statusCode!, code, retryAfter: res.headers['retry-after'], connection: res.headers.connection, sender, text });
              });
              res.on('error', (err) => resolve({ error: (err as NodeJS.ErrnoException).code ?? err.message }));
            });
            req.on('error', (err) => resolve({ error: (err as NodeJS.ErrnoException).code ?? err.message }));
            req.end(body);
          });
          // A refused connection carried no request: the server stopped listening, the client is done.
          if ('error' in result && result.error === 'ECONNREFUSED') return;
          outcomes.push(result);
          if ('error' in result) return;
          if (result.status === 201 && ++created === 32 * 5) sigterm();
          if (result.status !== 201) return; // told to go elsewhere
        }
      } finally {
        agent.destroy();
      }
    };
    const clients = Array.from({ length: 32 }, (_, id) => client(id));
    // One more keep-alive connection, idle at SIGTERM, whose next request comes after it.
    const idle = rawConnection(r.port);
    idle.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    while (!idle.received().includes('{"status":"ok"}')) await new Promise((res) => idle.socket.once('data', res));
    await enoughLoad;
    r.proc.child.kill('SIGTERM');
    await r.proc.waitFor(/shutting down \(SIGTERM\)/);
    const before = idle.received().length;
    idle.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
    await idle.closed; // answered, then closed by the server
    const late = idle.received().slice(before);
    expect(late).toMatch(/^HTTP\/1\.1 503 /);
    expect(late).toMatch(new RegExp(`\r\nretry-after: ${SHUTDOWN_RETRY_AFTER_S}\r\n`, 'i'));
    expect(late).toMatch(/\r\nconnection: close\r\n/i);
    expect(late).toContain('"code":"NETLAB_ERR_SHUTTING_DOWN"');
    await Promise.all(clients);
    expect(await r.proc.exited).toBe(0);

    const resets = outcomes.filter((o) => 'error' in o);
    expect(resets, JSON.stringify(resets)).toEqual([]);
    const answered = outcomes as Exclude<Outcome, { error: string }>[];
    for (const o of answered) expect([201, 503]).toContain(o.status);
    for (const o of answered.filter((a) => a.status === 503)) {
      expect(o).toMatchObject({ code: 'NETLAB_ERR_SHUTTING_DOWN', retryAfter: String(SHUTDOWN_RETRY_AFTER_S), connection: 'close' });
    }
    // Every 201 is stored, and nothing else is.
    const ok = answered.filter((o) => o.status === 201);
    const rows = await query<{ sender: string; text: string }>("SELECT sender, text FROM messages WHERE sender LIKE 'k%'");
    expect(new Set(rows.map((m) => `${m.sender}/${m.text}`))).toEqual(new Set(ok.map((o) => `${o.sender}/${o.text}`)));
    expect(rows).toHaveLength(ok.length);
    expect(r.proc.output()).toMatch(/shutting down \(SIGTERM\)/);
  });
});
