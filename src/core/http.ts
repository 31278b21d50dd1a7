import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer, type HttpBindings } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { NetlabError } from './errors.js';
import type { Lifecycle } from './lifecycle.js';
import type { Logger } from './logger.js';
import { Counter, Gauge, Histogram, type Registry } from './metrics.js';

/** Above the 60 s idle timeout of common load balancers, so they close first and never hit a dead socket. */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;
const DRAIN_POLL_MS = 20;
/** Pending-connection queue; Node's 511 overflows when thousands of clients reconnect at once (the kernel caps it at somaxconn). */
export const LISTEN_BACKLOG = 4096;

export interface HttpAppOptions {
  logger: Logger;
  registry: Registry;
  lifecycle: Lifecycle;
}

/** The JSON error body every netlab HTTP role answers with. */
export function errorBody(message: string, code?: string): { error: string; code?: string } {
  return code ? { error: message, code } : { error: message };
}

/**
 * A Hono app with what every HTTP role shares: JSON errors from one handler, request metrics,
 * `GET /metrics`, and 503 for new requests once shutdown begins.
 */
export function createHttpApp({ logger, registry, lifecycle }: HttpAppOptions): { app: Hono; inFlight: () => number } {
  const app = new Hono();
  let inFlight = 0;
  const requests = new Counter({
    name: 'netlab_http_requests_total',
    help: 'HTTP requests answered, by route, method and status.',
    labelNames: ['route', 'method', 'status'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'netlab_http_request_duration_seconds',
    help: 'Time from request to response headers, by route.',
    labelNames: ['route', 'method'],
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  new Gauge({
    name: 'netlab_http_requests_in_flight',
    help: 'HTTP requests being handled now.',
    registers: [registry],
    collect() {
      this.set(inFlight);
    },
  });

  // prom-client hashes the label object on every call; a hot route pays that twice per request, so
  // each label combination's children are looked up once and kept.
  const children = new Map<string, { count: { inc(): void }; time: { observe(seconds: number): void } }>();
  const observe = (route: string, method: string, status: number, seconds: number) => {
    const key = `${route} ${method} ${status}`;
    let child = children.get(key);
    if (!child) {
      child = { count: requests.labels(route, method, String(status)), time: duration.labels(route, method) };
      children.set(key, child);
    }
    child.count.inc();
    child.time.observe(seconds);
  };

  app.use(async (c, next) => {
    if (lifecycle.closing) {
      c.header('connection', 'close');
      throw new NetlabError('NETLAB_ERR_SHUTTING_DOWN');
    }
    const started = performance.now();
    inFlight++;
    try {
      await next();
    } finally {
      inFlight--;
      const route = c.req.routePath === '/*' ? 'other' : c.req.routePath;
      observe(route, c.req.method, c.res.status, (performance.now() - started) / 1000);
    }
  });

  app.get('/metrics', async (c) => c.text(await registry.metrics(), 200, { 'content-type': registry.contentType }));

  app.notFound((c) => c.json(errorBody(`no route for ${c.req.method} ${c.req.path}`, 'NETLAB_ERR_NOT_FOUND'), 404));
  app.onError((err, c) => errorResponse(c, err, logger));
  return { app, inFlight: () => inFlight };
}

function errorResponse(c: Context, err: unknown, logger: Logger): Response {
  if (err instanceof NetlabError) {
    return c.json(errorBody(err.message, err.code), err.status as ContentfulStatusCode);
  }
  if (err instanceof HTTPException) {
    return c.json(errorBody(err.message || 'request rejected'), err.status as ContentfulStatusCode);
  }
  logger.error({ err }, 'unhandled error in request');
  return c.json(errorBody('internal error', 'NETLAB_ERR_INTERNAL'), 500);
}

export interface ServeOptions {
  port: number;
  host: string;
  logger: Logger;
  lifecycle: Lifecycle;
  inFlight: () => number;
}

/**
 * Listens and registers the drain on shutdown: stop accepting, let in-flight requests finish
 * (until the grace deadline), close idle keep-alive connections, then close the rest.
 */
export async function serveHttp(app: Hono, { port, host, logger, lifecycle, inFlight }: ServeOptions): Promise<Server> {
  const server = createAdaptorServer({ fetch: app.fetch, serverOptions: { keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS } }) as Server;
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actual = (server.address() as AddressInfo).port;
  logger.info({ port: actual }, `listening on http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${actual}`);

  lifecycle.onShutdown('http server', async (deadline) => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    while (inFlight() > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, DRAIN_POLL_MS));
      server.closeIdleConnections();
    }
    server.closeAllConnections();
    await closed;
  });
  return server;
}

/**
 * Reads a request body up to `maxBytes` (413 beyond). On Node it reads the IncomingMessage directly:
 * going through the web Request body stream costs more CPU than the rest of a small request.
 */
export async function readBody(c: Context, maxBytes: number): Promise<Buffer> {
  const tooLarge = () => new NetlabError('NETLAB_ERR_BODY_TOO_LARGE', `request body is over ${maxBytes} bytes`);
  const declared = Number(c.req.header('content-length') ?? 0);
  if (declared > maxBytes) throw tooLarge();
  const incoming = (c.env as Partial<HttpBindings> | undefined)?.incoming;
  if (!incoming) {
    const body = Buffer.from(await c.req.arrayBuffer());
    if (body.length > maxBytes) throw tooLarge();
    return body;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of incoming as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw tooLarge();
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
}

/** The port a server really listens on (useful with port 0). */
export const listeningPort = (server: Server): number => (server.address() as AddressInfo).port;
