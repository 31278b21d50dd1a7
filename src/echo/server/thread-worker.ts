// Entry of a worker thread of the threads model.
import { parentPort, workerData } from 'node:worker_threads';
import { runEchoWorker } from './echo-worker.js';
import type { EchoWorkerConfig, ToWorker } from './worker-protocol.js';

const port = parentPort!;
await runEchoWorker(workerData as EchoWorkerConfig, {
  post: (msg) => port.postMessage(msg),
  onMessage: (handler) => port.on('message', (msg: ToWorker) => handler(msg)),
  exit: () => port.close(),
});
