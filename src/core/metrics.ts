import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { Logger } from './logger.js';
import { listen } from './net.js';
import { cpuSeconds, processTree, rssBytes } from './proc.js';
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
  registerProcessTreeMetrics(registry);
  return registry;
}

/**
 * CPU and memory of this process and every process it started (echo cluster workers, a lab's children):
 * what the pod spends, where netlab_process_* counts only this one process. On a system without /proc,
 * this process alone.
 */
function registerProcessTreeMetrics(registry: Registry): void {
  // Children that exited take their CPU with them: the counter never goes back, it only stops rising.
  let reported = 0;
  new Counter({
    name: `${METRIC_PREFIX}process_tree_cpu_seconds_total`,
    help: 'User and system CPU seconds of this process and its descendants.',
    registers: [registry],
    collect() {
      const tree = processTree(process.pid);
      const total = tree.reduce((sum, pid) => sum + (cpuSeconds(pid) ?? 0), 0) || process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6;
      if (total > reported) this.inc(total - reported);
      reported = Math.max(reported, total);
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}process_tree_resident_memory_bytes`,
    help: 'Resident memory of this process and its descendants, in bytes.',
    registers: [registry],
    collect() {
      const tree = processTree(process.pid);
      this.set(tree.reduce((sum, pid) => sum + (rssBytes(pid) ?? 0), 0) || process.memoryUsage().rss);
    },
  });
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
  return listen(server, { host, port }).then(
    () => {
      logger.info({ port }, `metrics at http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}/metrics`);
      return server;
    },
    (err: NodeJS.ErrnoException) => {
      logger.warn({ port, code: err.code }, `metrics server not started: port ${port} unavailable (${err.code ?? err.message})`);
      return undefined;
    },
  );
}
