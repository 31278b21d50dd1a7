// Entry of a cluster worker process (forked by the cluster model's primary).
import { runEchoWorker } from './echo-worker.js';
import { WORKER_CONFIG_ENV, type EchoWorkerConfig, type ToWorker } from './worker-protocol.js';

/** Grace a worker gives its connections when its primary vanished or a signal reached it directly. */
const ORPHAN_GRACE_MS = 2000;

const config = JSON.parse(process.env[WORKER_CONFIG_ENV] ?? '{}') as EchoWorkerConfig;
const handlers: ((msg: ToWorker) => void)[] = [];
const shutdown = () => handlers.forEach((h) => h({ type: 'shutdown', deadline: Date.now() + ORPHAN_GRACE_MS }));

// Ctrl-C reaches the whole process group: the primary coordinates, so a worker waits for its word,
// unless the primary is gone (IPC disconnect), then it closes by itself.
process.on('SIGINT', () => {});
process.on('SIGTERM', shutdown);
process.on('disconnect', shutdown);
process.on('message', (msg: ToWorker) => handlers.forEach((h) => h(msg)));

let lastSend: Promise<void> = Promise.resolve();
await runEchoWorker(config, {
  post: (msg) => {
    if (!process.connected) return;
    lastSend = new Promise((resolve) => process.send!(msg, undefined, undefined, () => resolve()));
  },
  onMessage: (handler) => handlers.push(handler),
  // The last counters must reach the primary before the process goes.
  exit: (code) => void lastSend.then(() => process.exit(code)),
});
