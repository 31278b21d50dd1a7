import { Worker } from 'node:worker_threads';
import type { Logger } from '../../core/logger.js';
import { EchoWorkerPool, type WorkerHandle } from './worker-pool.js';
import type { EchoWorkerConfig } from './worker-protocol.js';

const WORKER_ENTRY = new URL('./thread-worker.js', import.meta.url);

/** N worker threads in one process, each with its own listening socket on the shared port (SO_REUSEPORT). */
export function createThreadPool(config: Omit<EchoWorkerConfig, 'index'>, workers: number, logger: Logger): EchoWorkerPool {
  const spawn = (c: EchoWorkerConfig): WorkerHandle => {
    const worker = new Worker(WORKER_ENTRY, { workerData: c, name: `echo-${c.index}` });
    const label = `worker thread ${c.index}`;
    worker.on('error', (err) => logger.error({ worker: c.index, err }, `${label} failed`));
    return {
      label,
      send: (msg) => worker.postMessage(msg),
      onMessage: (handler) => worker.on('message', handler),
      onExit: (handler) => worker.once('exit', handler),
      kill: () => void worker.terminate(),
    };
  };
  return new EchoWorkerPool(spawn, { ...config, reusePort: true }, workers, logger);
}
