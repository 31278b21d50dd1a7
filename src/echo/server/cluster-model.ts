import cluster from 'node:cluster';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../core/logger.js';
import { EchoWorkerPool, type WorkerHandle } from './worker-pool.js';
import { WORKER_CONFIG_ENV, type EchoWorkerConfig } from './worker-protocol.js';

const WORKER_ENTRY = fileURLToPath(new URL('./cluster-worker.js', import.meta.url));

/**
 * N worker processes; the primary accepts and hands connections out round-robin (Node's default
 * scheduling on Linux), so one busy worker does not starve the others of new connections.
 */
export function createClusterPool(config: Omit<EchoWorkerConfig, 'index'>, workers: number, logger: Logger): EchoWorkerPool {
  cluster.setupPrimary({ exec: WORKER_ENTRY, args: [] });
  const spawn = (c: EchoWorkerConfig): WorkerHandle => {
    const worker = cluster.fork({ [WORKER_CONFIG_ENV]: JSON.stringify(c) });
    return {
      label: `cluster worker ${c.index} (pid ${worker.process.pid})`,
      send: (msg) => {
        if (worker.isConnected()) worker.send(msg);
      },
      onMessage: (handler) => worker.on('message', handler),
      onExit: (handler) => worker.once('exit', (code, signal) => handler(code ?? (signal ? 128 : 1))),
      kill: () => worker.process.kill('SIGKILL'),
    };
  };
  return new EchoWorkerPool(spawn, { ...config, reusePort: false }, workers, logger);
}
