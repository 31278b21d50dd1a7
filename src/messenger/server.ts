import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { sleep, withTimeout } from '../core/async.js';
import { startEmbeddedPostgres } from '../core/embedded-postgres.js';
import { NetlabError } from '../core/errors.js';
import { createHttpApp, errorBody, readBody, serveHttp } from '../core/http.js';
import { Counter, Gauge, Histogram } from '../core/metrics.js';
import type { RoleContext } from '../core/role.js';
import { PrismaClient } from '../generated/prisma/client.js';
import { DatabaseHealth } from './db-health.js';
import { MessageStore } from './message-store.js';
import { migrate } from './migrate.js';
import { MAX_BODY_BYTES, checkContentType, decodeUtf8, parseHistoryQuery, parseNewMessage } from './protocol.js';

export interface MessengerOptions {
  port: number;
  host: string;
  databaseUrl?: string;
  dataDir: string;
  embeddedPort: number;
  poolSize: number;
  maxBatch: number;
  writeConcurrency: number;
}

/** How long a connection attempt may take before a request is answered 503. */
export const CONNECT_TIMEOUT_MS = 2000;
const MIGRATE_RETRY_MS = 1000;
const READY_TIMEOUT_MS = 1000;

export async function startMessenger(options: MessengerOptions, { logger, lifecycle, registry }: RoleContext): Promise<{ port: number }> {
  let databaseUrl = options.databaseUrl;
  if (!databaseUrl) {
    const embedded = await startEmbeddedPostgres({ dataDir: options.dataDir, port: options.embeddedPort, logger });
    lifecycle.onShutdown('embedded postgres', () => embedded.stop());
    databaseUrl = embedded.url;
  }

  const pool = new pg.Pool({ connectionString: databaseUrl, max: options.poolSize, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, application_name: 'netlab-messenger' });
  pool.on('error', (err) => logger.warn({ err }, 'idle database connection lost'));
  // A connection that dies while checked out emits 'error' on its client; without a listener that
  // would crash the replica. The query in flight fails on its own and is answered 503.
  pool.on('connect', (client) => client.on('error', () => {}));
  lifecycle.onShutdown('database pool', () => pool.end());
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });

  const dbUp = new Gauge({ name: 'netlab_messenger_db_up', help: '1 when the database answers and the schema is ready.', registers: [registry] });
  const stored = new Counter({ name: 'netlab_messenger_messages_stored_total', help: 'Messages stored by this replica.', registers: [registry] });
  const batchSize = new Histogram({
    name: 'netlab_messenger_batch_size',
    help: 'Messages written per database call (group commit).',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
    registers: [registry],
  });
  const batchSeconds = new Histogram({
    name: 'netlab_messenger_batch_duration_seconds',
    help: 'Time of one group write, lock wait included.',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  const health = new DatabaseHealth(pool, logger, (up) => dbUp.set(up ? 1 : 0));
  dbUp.set(0);
  const store = new MessageStore({
    pool,
    prisma,
    health,
    maxBatch: options.maxBatch,
    concurrency: options.writeConcurrency,
    onBatch(size, seconds) {
      stored.inc(size);
      batchSize.observe(size);
      batchSeconds.observe(seconds);
    },
  });

  const { app, inFlight, zeroRouteMetrics } = createHttpApp({ logger, registry, lifecycle });
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', async (c) => {
    if (!health.available) return c.json(errorBody('database unavailable or schema not ready', 'NETLAB_ERR_DB_UNAVAILABLE'), 503);
    try {
      await withTimeout(pool.query('SELECT 1 FROM message_clock WHERE id = 1'), READY_TIMEOUT_MS, 'timeout');
      return c.json({ status: 'ready' });
    } catch (err) {
      health.report(err);
      return c.json(errorBody(`database unavailable: ${(err as Error).message}`, 'NETLAB_ERR_DB_UNAVAILABLE'), 503);
    }
  });
  app.post('/messages', async (c) => {
    checkContentType(c.req.header('content-type'));
    const text = decodeUtf8(await readBody(c, MAX_BODY_BYTES));
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new NetlabError('NETLAB_ERR_BAD_JSON');
    }
    const json = await store.post(parseNewMessage(body));
    return c.body(json, 201, { 'content-type': 'application/json' });
  });
  app.get('/messages', async (c) => {
    const { limit, before } = parseHistoryQuery(c.req.query('limit'), c.req.query('before'));
    return c.json({ messages: await store.history(limit, before) });
  });

  lifecycle.onShutdown('pending writes', async () => {
    health.stop();
    await store.drained();
  });
  zeroRouteMetrics();
  const server = await serveHttp(app, { port: options.port, host: options.host, logger, lifecycle, inFlight });

  // The schema is created or upgraded in the background so /healthz answers at once and the
  // replica waits (not crashes) for a database that is not up yet.
  void (async () => {
    while (!lifecycle.closing) {
      try {
        await migrate(pool, logger);
        health.markUp();
        return;
      } catch (err) {
        logger.warn({ err }, `database not ready; retrying in ${MIGRATE_RETRY_MS} ms`);
        await sleep(MIGRATE_RETRY_MS, lifecycle.signal);
      }
    }
  })();
  return { port: (server.address() as { port: number }).port };
}
