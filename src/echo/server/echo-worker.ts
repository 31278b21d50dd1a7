import { EXIT_FAILED, EXIT_OK } from '../../core/exit-codes.js';
import { startEchoListener, type EchoListener } from './echo-listener.js';
import { STATS_PUSH_MS, type EchoWorkerConfig, type FromWorker, type ToWorker } from './worker-protocol.js';

/** The two ends a worker talks through: process IPC (cluster) or a MessagePort (threads). */
export interface WorkerChannel {
  post(msg: FromWorker): void;
  onMessage(handler: (msg: ToWorker) => void): void;
  /** Called once the worker is done; the entry exits the process or lets the thread end. */
  exit(code: number): void;
}

/**
 * Runs one echo listener for the primary: reports listening, posts counters, closes on request.
 * It has no logger of its own (that would cost every worker the logger's memory): what goes wrong
 * is posted to the primary, which logs it.
 */
export async function runEchoWorker(config: EchoWorkerConfig, channel: WorkerChannel): Promise<void> {
  let listener: EchoListener;
  try {
    listener = await startEchoListener(config);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    channel.post({ type: 'failed', code: e.code, message: e.message });
    channel.exit(EXIT_FAILED);
    return;
  }
  channel.post({ type: 'listening', port: listener.port });
  const timer = setInterval(() => channel.post({ type: 'stats', stats: listener.stats() }), STATS_PUSH_MS);
  timer.unref();

  let closing: Promise<void> | undefined;
  const close = (deadline: number) => {
    closing ??= (async () => {
      clearInterval(timer);
      await listener.close(deadline);
      channel.post({ type: 'stats', stats: listener.stats() });
      channel.exit(EXIT_OK);
    })();
  };
  channel.onMessage((msg) => {
    if (msg.type === 'shutdown') close(msg.deadline);
  });
  return;
}
