import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrismaClient } from '../../src/generated/prisma/client.js';
import { DatabaseHealth } from '../../src/messenger/db-health.js';
import { MessageStore } from '../../src/messenger/message-store.js';
import { loadMigrations, migrate } from '../../src/messenger/migrate.js';
import type { MessageView } from '../../src/messenger/protocol.js';
import { verifyResponses, type AnsweredRequest } from '../../src/messenger/verify.js';
import { createTestDatabase } from '../helpers/database.js';
import { silentLogger } from '../helpers/logger.js';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
const pools: pg.Pool[] = [];
const newPool = () => {
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  pools.push(pool);
  return pool;
};
function newStore(pool: pg.Pool, maxBatch = 64): MessageStore {
  const health = new DatabaseHealth(pool, silentLogger);
  health.markUp();
  return new MessageStore({ pool, prisma: new PrismaClient({ adapter: new PrismaPg(pool) }), health, maxBatch, concurrency: 2 });
}

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await Promise.all(pools.map((p) => p.end()));
  await db.drop();
});

describe('migrate', () => {
  it('applies each migration exactly once when replicas start together', async () => {
    const results = await Promise.all([newPool(), newPool(), newPool(), newPool()].map((p) => migrate(p, silentLogger)));
    const names = (await loadMigrations()).map((m) => m.name);
    expect(results.flat().sort()).toEqual(names.sort());
    const { rows } = await newPool().query('SELECT migration_name, finished_at FROM "_prisma_migrations"');
    expect(rows.map((r) => r.migration_name).sort()).toEqual(names.sort());
    expect(await migrate(newPool(), silentLogger)).toEqual([]);
  });
});

describe('MessageStore across replicas', () => {
  it('keeps all four properties under high concurrency from three replicas', async () => {
    const stores = [newStore(newPool()), newStore(newPool(), 7), newStore(newPool(), 1)];
    const senders = ['ann', 'ben', 'cat', 'dan', 'eve'];
    const answered: AnsweredRequest[] = [];
    await Promise.all(
      Array.from({ length: 60 }, async (_, w) => {
        for (let r = 0; r < 10; r++) {
          const sender = senders[(w * 7 + r) % senders.length]!;
          const text = `w${w} r${r}`;
          const sentAt = performance.now();
          const body = await stores[(w + r) % stores.length]!.post({ sender, text });
          const messages = (JSON.parse(body) as { messages: MessageView[] }).messages;
          answered.push({ sender, text, sentAt, answeredAt: performance.now(), messages });
        }
      }),
    );
    expect(verifyResponses(answered)).toEqual({ violations: 0, examples: [] });

    // And in the table itself: seq 1..600 without a gap, every sender counting 1..k.
    const pool = newPool();
    const { rows } = await pool.query<{ seq: string; sender: string; user_count: string }>('SELECT seq, sender, user_count FROM messages ORDER BY seq');
    expect(rows.map((r) => Number(r.seq))).toEqual(Array.from({ length: 600 }, (_, i) => i + 1));
    const counts = new Map<string, number>();
    for (const r of rows) {
      const next = (counts.get(r.sender) ?? 0) + 1;
      expect(Number(r.user_count)).toBe(next);
      counts.set(r.sender, next);
    }
  });

  it('pages through history in ascending seq', async () => {
    const store = newStore(newPool());
    const last = await store.history(5);
    expect(last.map((m) => m.seq)).toEqual([596, 597, 598, 599, 600]);
    const page = await store.history(3, 596);
    expect(page.map((m) => m.seq)).toEqual([593, 594, 595]);
    expect(page[0]).toMatchObject({ sender: expect.any(String), text: expect.any(String), userCount: expect.any(Number) });
    expect(page[0]!.sentAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect((await store.history(10, 3)).map((m) => m.seq)).toEqual([1, 2]);
  });

  it('refuses at once while the database is marked down', async () => {
    const pool = newPool();
    const health = new DatabaseHealth(pool, silentLogger);
    const store = new MessageStore({ pool, prisma: new PrismaClient({ adapter: new PrismaPg(pool) }), health, maxBatch: 8, concurrency: 1 });
    await expect(store.post({ sender: 'a', text: 'b' })).rejects.toMatchObject({ code: 'NETLAB_ERR_DB_UNAVAILABLE', status: 503 });
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM messages');
    expect(rows[0].n).toBe(600);
  });
});
