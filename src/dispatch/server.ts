import type { Server } from 'node:http';
import { bodyLimit } from 'hono/body-limit';
import { getCookie, setCookie } from 'hono/cookie';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import { NetlabError } from '../core/errors.js';
import { createHttpApp, serveHttp } from '../core/http.js';
import type { RoleContext } from '../core/role.js';
import { DispatchEngine, type ClientHandle } from './engine.js';
import { dispatcherMetrics } from './metrics.js';
import { formatSseEvent, MAX_REPORT_BYTES, parseBatchSize, parseDeadLetterQuery, parseReportBody, SSE_PING } from './protocol.js';
import { createRandom } from '../core/prng.js';
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
}

/** Opens the store, settles what the last run left, and serves /task, /report and the rest. */
export async function startDispatcher(options: DispatcherOptions, { logger, lifecycle, registry }: RoleContext): Promise<{ server: Server; engine: DispatchEngine }> {
  const store = new DispatchStore(options.data);
  lifecycle.onShutdown('lmdb store', () => store.close());
  let engineRef: DispatchEngine | undefined;
  const observer = dispatcherMetrics(registry, () => engineRef);
  const engine = await DispatchEngine.open({
    store,
    logger,
    leaseMs: options.leaseMs,
    maxAttempts: options.maxAttempts,
    backlog: options.backlog,
    random: createRandom(options.seed),
    observer,
    onFatal(err) {
      // Memory is ahead of disk and cannot be trusted: stop; a restart rebuilds from LMDB.
      logger.fatal({ err }, 'LMDB commit failed; exiting so a restart recovers from the store');
      process.exit(1);
    },
  });
  engineRef = engine;

  const { app, inFlight } = createHttpApp({ logger, registry, lifecycle });
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

  app.post(
    '/report',
    bodyLimit({
      maxSize: MAX_REPORT_BYTES,
      onError: () => {
        throw new NetlabError('NETLAB_ERR_BAD_REQUEST', `report body is over ${MAX_REPORT_BYTES} bytes`);
      },
    }),
    async (c) => {
      const client = c.req.header('x-client-id') || c.req.query('client') || getCookie(c, 'client');
      if (!client) throw new NetlabError('NETLAB_ERR_BAD_REQUEST', 'no client id: send cookie "client", header X-Client-Id or ?client= (from the hello event)');
      const ids = parseReportBody(await c.req.text());
      return c.json(await engine.report(client, ids));
    },
  );

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

  const server = await serveHttp(app, { port: options.port, host: options.host, logger, lifecycle, inFlight });
  // Runs before the HTTP drain (hooks run last-registered first): fail open leases, end streams, commit.
  lifecycle.onShutdown('dispatcher state', async () => {
    clearInterval(ping);
    await engine.shutdown();
  });
  return { server, engine };
}
