import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener, type HttpBindings } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { NetlabError } from './errors.js';
import { HttpConnections } from './http-connections.js';
import type { Lifecycle } from './lifecycle.js';
import type { Logger } from './logger.js';
import { Counter, Gauge, Histogram, type Registry } from './metrics.js';
import { listen } from './net.js';

/** Above the 60 s idle timeout of common load balancers, so they close first and never hit a dead socket. */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;
/**
 * Time a client has to send a request's headers, from its first byte (then 408 and close). 10 s is
 * HAProxy's suggested `timeout http-request`; a real client sends its few hundred bytes in a round trip,
 * so only a slow-header (slowloris) client, holding a connection open, runs into it.
 */
export const HEADERS_TIMEOUT_MS = 10_000;
/**
 * Time a client has to send a whole request, body included (then 408 and close). netlab's bodies are
 * small (messenger: at most 64 KiB); 30 s is AWS ALB's and nginx's order of magnitude for a stalled upload.
 */
export const REQUEST_TIMEOUT_MS = 30_000;
/** How often Node looks for requests past those timeouts; its default 30 s would let a 10 s timeout fire after 40 s. */
export const TIMEOUT_CHECK_INTERVAL_MS = 1000;
/** `Retry-After` (seconds) on a 503 answered while shutting down: another replica can take the request now. */
export const SHUTDOWN_RETRY_AFTER_S = 1;
/** The status recorded in metrics for a request whose client went away before it was read (nginx's 499); never sent. */
export const CLIENT_CLOSED_REQUEST_STATUS = 499;

export interface HttpAppOptions {
  logger: Logger;
  registry: Registry;
  lifecycle: Lifecycle;
}

/** The client closed the connection before its request body was read: a debug line and a 499 in the metrics, not a 500. */
export class ClientClosedRequestError extends Error {
  override name = 'ClientClosedRequestError';
}

/** The JSON error body every netlab HTTP role answers with. */
export function errorBody(message: string, code?: string): { error: string; code?: string } {
  return code ? { error: message, code } : { error: message };
}

/**
 * A Hono app with what every HTTP role shares: JSON errors from one handler, request metrics,
 * `GET /metrics`, and 503 for new requests once shutdown begins.
 */
export function createHttpApp({ logger, registry, lifecycle }: HttpAppOptions): { app: Hono; inFlight: () => number; zeroRouteMetrics: () => void } {
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
      c.header('retry-after', String(SHUTDOWN_RETRY_AFTER_S));
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

  // A route's latency series exists from the first scrape, not from its first request: rate() then has
  // samples before traffic starts, and a dashboard shows 0 where it would show nothing.
  const zeroRouteMetrics = () => {
    for (const r of app.routes) if (r.method !== 'ALL') duration.zero({ route: r.path, method: r.method });
  };

  app.notFound((c) => c.json(errorBody(`no route for ${c.req.method} ${c.req.path}`, 'NETLAB_ERR_NOT_FOUND'), 404));
  app.onError((err, c) => errorResponse(c, err, logger));
  return { app, inFlight: () => inFlight, zeroRouteMetrics };
}

function errorResponse(c: Context, err: unknown, logger: Logger): Response {
  if (err instanceof NetlabError) {
    return c.json(errorBody(err.message, err.code), err.status as ContentfulStatusCode);
  }
  if (err instanceof HTTPException) {
    return c.json(errorBody(err.message || 'request rejected'), err.status as ContentfulStatusCode);
  }
  if (err instanceof ClientClosedRequestError) {
    logger.debug({ err, path: c.req.path }, 'client closed the connection before its request was read');
    return c.body(null, CLIENT_CLOSED_REQUEST_STATUS as ContentfulStatusCode);
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
 * Listens with netlab's timeouts and per-connection backpressure (HttpConnections), and registers the
 * drain on shutdown: stop accepting, answer the requests already read (the last of each connection
 * with `Connection: close`), answer new ones 503 with `Retry-After`, close connections once idle, and
 * destroy what is left at the grace deadline.
 */
export async function serveHttp(app: Hono, { port, host, logger, lifecycle, inFlight }: ServeOptions): Promise<Server> {
  const server = createServer({
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    headersTimeout: HEADERS_TIMEOUT_MS,
    requestTimeout: REQUEST_TIMEOUT_MS,
    connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS,
  });
  const connections = new HttpConnections(server, getRequestListener(app.fetch));
  const actual = await listen(server, { host, port });
  logger.info({ port: actual }, `listening on http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${actual}`);

  lifecycle.onShutdown('http server', (deadline) => connections.drain(deadline, inFlight));
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
  try {
    for await (const chunk of incoming as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) throw tooLarge();
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof NetlabError) throw err;
    // Node destroys the request with ECONNRESET ("aborted") when its client goes away mid-body.
    if ((err as NodeJS.ErrnoException).code === 'ECONNRESET' || incoming.destroyed) {
      throw new ClientClosedRequestError(`client went away after ${size} bytes of the body`, { cause: err });
    }
    throw err;
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
}

/** The port a server really listens on (useful with port 0). */
export const listeningPort = (server: Server): number => (server.address() as AddressInfo).port;
