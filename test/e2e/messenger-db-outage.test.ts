import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/core/embedded-postgres.js';
import { silentLogger } from '../helpers/logger.js';
import { freePort, startNetlab, waitForHttp, type NetlabProcess } from '../helpers/netlab-process.js';

// This file stops and restarts a PostgreSQL server, so it always runs its own embedded one.
let dir: string;
let pgPort: number;
let database: EmbeddedPostgres;
let replica: NetlabProcess;
let url: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'netlab-outage-'));
  await chmod(dir, 0o755);
  pgPort = await freePort();
  database = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), port: pgPort, logger: silentLogger });
  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  replica = startNetlab(['messenger', '--port', String(port)], { DATABASE_URL: database.url });
  await waitForHttp(`${url}/readyz`);
});
afterAll(async () => {
  await replica?.stop('SIGKILL');
  await database?.stop();
  await rm(dir, { recursive: true, force: true });
});

interface Outcome {
  text: string;
  status: number;
  ms: number;
}

describe('messenger with the database stopped and restarted under load', () => {
  it('answers 503 at once while it is down, resumes by itself, and loses no answered message', async () => {
    const outcomes: Outcome[] = [];
    let running = true;
    const load = Array.from({ length: 8 }, async (_, w) => {
      for (let i = 0; running; i++) {
        const text = `w${w}-${i}`;
        const started = performance.now();
        let status: number;
        try {
          const res = await fetch(`${url}/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sender: `s${w % 3}`, text }) });
          status = res.status;
          await res.arrayBuffer();
        } catch {
          status = -1;
        }
        outcomes.push({ text, status, ms: performance.now() - started });
        if (status !== 201) await new Promise((r) => setTimeout(r, 20));
      }
    });

    await new Promise((r) => setTimeout(r, 700));
    await database.stop();
    const downAt = outcomes.length;
    await new Promise((r) => setTimeout(r, 1500));
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ code: 'NETLAB_ERR_DB_UNAVAILABLE' });
    const during = outcomes.slice(downAt);
    expect(during.some((o) => o.status === 503)).toBe(true);
    // Refused quickly, not after a hang: no request took longer than the connect timeout and change.
    expect(Math.max(...during.map((o) => o.ms))).toBeLessThan(5000);

    database = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), port: pgPort, logger: silentLogger });
    await waitForHttp(`${url}/readyz`, 15_000);
    const resumedAt = outcomes.length;
    await new Promise((r) => setTimeout(r, 700));
    running = false;
    await Promise.all(load);
    expect(outcomes.slice(resumedAt).filter((o) => o.status === 201).length).toBeGreaterThan(0);

    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const { rows } = await client.query<{ text: string; seq: string }>('SELECT text, seq FROM messages ORDER BY seq');
    await client.end();
    const stored = new Map(rows.map((r) => [r.text, Number(r.seq)]));
    const answered = outcomes.filter((o) => o.status === 201);
    expect(answered.length).toBeGreaterThan(10);
    for (const o of answered) expect(stored.has(o.text), `answered message ${o.text} is stored`).toBe(true);
    expect(rows.map((r) => Number(r.seq))).toEqual(rows.map((_, i) => i + 1));
    expect(replica.output()).toMatch(/database unavailable/);
  });
});
