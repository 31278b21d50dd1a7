import { statSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { getCookie, setCookie } from 'hono/cookie';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import { NetlabError } from '../core/errors.js';
import { EXIT_FAILED } from '../core/exit-codes.js';
import { createHttpApp, listeningPort, readBody, serveHttp } from '../core/http.js';
import { createRandom } from '../core/prng.js';
import type { RoleContext } from '../core/role.js';
import { DEFAULT_ABANDONED_WINDOW_MS, DEFAULT_GENERATION_CREDIT, DEFAULT_MAX_DEAD_LETTERS, DispatchEngine, type ClientHandle } from './engine.js';
import { dispatcherGauges, dispatcherObserver } from './metrics.js';
import { formatSseEvent, MAX_REPORT_BYTES, parseBatchSize, parseDeadLetterQuery, parseReportBody, SSE_PING } from './protocol.js';
import { checkStore, damagedWhileReading, DATA_FILE, ensureDataDir, writeMarker } from './store-check.js';
import { StoreDamagedError } from './store-errors.js';
import { StoreLock } from './store-lock.js';
import { DispatchStore, deadLetterJson } from './store.js';
import { newXid } from './xid.js';

export interface DispatcherOptions {
  port: number;
  host: string;
  data: string;
  backlog: number;
  leaseMs: number;
  maxAttempts: number;
  maxBatch: number;
  pingMs: number;
  seed?: number;
  /** See EngineOptions.generationCredit (default DEFAULT_GENERATION_CREDIT). */
  generationCredit?: number;
  /** See EngineOptions.abandonedWindowMs (default DEFAULT_ABANDONED_WINDOW_MS). */
  abandonedWindowMs?: number;
  /** See EngineOptions.maxDeadLetters (default DEFAULT_MAX_DEAD_LETTERS). */
  maxDeadLetters?: number;
}

/** A report must be JSON, or say nothing of its type. */
const JSON_TYPE = /^application\/([\w.+-]+\+)?json\s*(;|$)/i;

/**
 * The store, checked and locked before LMDB maps it: the directory is made without hanging, the lock
 * makes this the only writer, the meta pages are read by hand (a damaged map kills the process in native
 * code), and what LMDB itself then reports as damage is the same one line. Undone on any failure.
 */
async function openCheckedStore(options: DispatcherOptions, context: RoleContext): Promise<{ store: DispatchStore; engine: DispatchEngine; lock: StoreLock; createdAt?: string }> {
  ensureDataDir(options.data);
  const lock = StoreLock.acquire(options.data, options.port || null);
  let store: DispatchStore | undefined;
  try {
    const check = checkStore(options.data);
    const observer = dispatcherObserver(context.registry);
    let engine: DispatchEngine;
    try {
      store = new DispatchStore(options.data);
      engine = await DispatchEngine.open({
        store,
        logger: context.logger,
        leaseMs: options.leaseMs,
        maxAttempts: options.maxAttempts,
        backlog: options.backlog,
        generationCredit: options.generationCredit ?? DEFAULT_GENERATION_CREDIT,
        maxDeadLetters: options.maxDeadLetters ?? DEFAULT_MAX_DEAD_LETTERS,
        abandonedWindowMs: options.abandonedWindowMs ?? DEFAULT_ABANDONED_WINDOW_MS,
        random: createRandom(options.seed),
        observer,
        onFatal(err) {
          // Memory is ahead of disk and cannot be trusted: stop; a restart rebuilds from LMDB.
          context.logger.fatal({ err }, 'LMDB commit failed; exiting so a restart recovers from the store');
          process.exit(EXIT_FAILED);
        },
      });
      dispatcherGauges(context.registry, engine);
      await store.committed;
    } catch (err) {
      throw err instanceof StoreDamagedError ? err : damagedWhileReading(options.data, err);
    }
    const createdAt = check.state === 'existing' ? check.marker?.createdAt : undefined;
    writeMarker(options.data, { records: recordCount(engine), bytes: dataBytes(options.data), createdAt });
    context.logger.info({ data: options.data, lock: lock.kind, store: check.state }, `store ${options.data} locked (${lock.kind}) and checked`);
    return { store, engine, lock, createdAt: createdAt ?? new Date().toISOString() };
  } catch (err) {
    await store?.root.close().catch(() => undefined);
    lock.release();
    throw err;
  }
}

const recordCount = (engine: DispatchEngine): number => {
  const s = engine.stats();
  return s.queued + s.leased + s.done + s.dead;
};
const dataBytes = (dir: string): number => statSync(join(dir, DATA_FILE)).size;

/** Opens the store, settles what the last run left, and serves /task, /report and the rest. */
export async function startDispatcher(options: DispatcherOptions, context: RoleContext): Promise<{ server: Server; engine: DispatchEngine }> {
  const { logger, lifecycle, registry } = context;
  const { store, engine, lock, createdAt } = await openCheckedStore(options, context);
  // Hooks run last-registered first: the lock goes after the store is closed and the marker written.
  lifecycle.onShutdown('store lock', () => lock.release());
  lifecycle.onShutdown('lmdb store', async () => {
    const records = recordCount(engine);
    await store.close();
    writeMarker(options.data, { records, bytes: dataBytes(options.data), createdAt });
  });

  const { app, inFlight, zeroRouteMetrics } = createHttpApp({ logger, registry, lifecycle });
  const streams = new Set<SSEStreamingApi>();

  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  app.get('/readyz', (c) => c.json({ status: 'ready' }));
  app.get('/stats', (c) => c.json(engine.stats()));

  app.get('/task', (c) => {
    const batchsize = parseBatchSize(c.req.query('batchsize'), options.maxBatch);
    const client = newXid();
    setCookie(c, 'client', client, { path: '/', httpOnly: true, sameSite: 'Strict' });
    c.header('X-Client-Id', client);
    c.header('X-Accel-Buffering', 'no');
    return streamSSE(c, async (stream) => {
      let finish!: () => void;
      const ended = new Promise<void>((resolve) => (finish = resolve));
      let droppedByEngine = false;
      const handle: ClientHandle = {
        send: (text) => void stream.write(text),
        close: () => {
          droppedByEngine = true;
          finish();
        },
      };
      let gone = false;
      const onGone = () => {
        if (gone) return;
        gone = true;
        streams.delete(stream);
        if (!droppedByEngine) engine.disconnect(client);
        finish();
      };
      // The stream's abort covers a client leaving mid-stream; the request's signal also covers one
      // that left before the response started flowing.
      stream.onAbort(onGone);
      const request = c.req.raw.signal;
      request.addEventListener('abort', onGone, { once: true });
      await stream.write(formatSseEvent('hello', JSON.stringify({ client, batchsize })));
      if (gone || stream.aborted || request.aborted) return onGone();
      streams.add(stream);
      engine.connect(client, batchsize, handle);
      logger.debug({ client, batchsize }, 'client connected');
      await ended;
      request.removeEventListener('abort', onGone);
      streams.delete(stream);
    });
  });

  app.post('/report', async (c) => {
    const type = c.req.header('content-type');
    if (type !== undefined && !JSON_TYPE.test(type)) throw new NetlabError('NETLAB_ERR_UNSUPPORTED_MEDIA_TYPE', `Content-Type must be application/json (or absent), got "${type.slice(0, 60)}"`);
    const client = c.req.header('x-client-id') || c.req.query('client') || getCookie(c, 'client');
    if (!client) throw new NetlabError('NETLAB_ERR_BAD_REQUEST', 'no client id: send cookie "client", header X-Client-Id or ?client= (from the hello event)');
    const ids = parseReportBody((await readBody(c, MAX_REPORT_BYTES)).toString('utf8'));
    return c.json(await engine.report(client, ids));
  });

  app.get('/dead-letters', (c) => {
    const { limit, after } = parseDeadLetterQuery(c.req.query('limit'), c.req.query('after'));
    const page = store.deadLetterPage(limit, after);
    return c.json({ items: page.items.map(deadLetterJson), next: page.next });
  });

  // One timer for every stream: a comment line keeps idle streams alive through proxies.
  const ping = setInterval(() => {
    for (const stream of streams) void stream.write(SSE_PING);
  }, options.pingMs);
  ping.unref();

  zeroRouteMetrics();
  const server = await serveHttp(app, { port: options.port, host: options.host, logger, lifecycle, inFlight });
  lock.setPort(listeningPort(server));
  // Runs before the HTTP drain (hooks run last-registered first): fail open leases, end streams, commit.
  lifecycle.onShutdown('dispatcher state', async () => {
    clearInterval(ping);
    await engine.shutdown();
  });
  return { server, engine };
}
