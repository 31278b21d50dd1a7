import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { Logger } from './logger.js';
import { NETLAB_VERSION } from './version.js';

export { Counter, Gauge, Histogram, Registry } from 'prom-client';

export const METRIC_PREFIX = 'netlab_';

/**
 * A fresh registry with Node's default metrics and `netlab_build_info`, every series labelled with
 * the role.
 */
export function createRegistry(role: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ role });
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  new Gauge({
    name: `${METRIC_PREFIX}build_info`,
    help: 'Always 1; the labels say which netlab and which Node.js this process runs.',
    labelNames: ['version', 'node_version'],
    registers: [registry],
  }).set({ version: NETLAB_VERSION, node_version: process.versions.node }, 1);
  return registry;
}

/**
 * Serves `GET /metrics` on its own port. Several roles share a machine, so a port already taken is
 * a warning, not a crash; port 0 turns the server off.
 */
export async function serveMetrics(registry: Registry, port: number, host: string, logger: Logger): Promise<Server | undefined> {
  if (port === 0) return undefined;
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url?.split('?')[0] === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
    } else res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
  });
  server.keepAliveTimeout = 65_000;
  return new Promise((resolve) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      logger.warn({ port, code: err.code }, `metrics server not started: port ${port} unavailable (${err.code ?? err.message})`);
      resolve(undefined);
    });
    server.listen(port, host, () => {
      logger.info({ port }, `metrics at http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}/metrics`);
      resolve(server);
    });
  });
}
