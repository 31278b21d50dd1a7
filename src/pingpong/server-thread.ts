// Entry of one connection thread of `pingpong-server --threads N` (see startThreadedServer).
import { writeSync } from 'node:fs';
import { getHeapStatistics } from 'node:v8';
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { EXIT_OK } from '../core/exit-codes.js';
import { createLogger } from '../core/logger.js';
import { mulberry32 } from '../core/prng.js';
import { RateLimitedLog } from '../core/rejections.js';
import { LogFile, NO_LOG } from './log-file.js';
import { serverSettings } from './options.js';
import { PingPongServerCore } from './server-core.js';
import { listenPingPong } from './server-transport.js';
import type { PingPongServerOptions } from './server.js';
import { SharedServerState, badLineStat, droppedStat, requestStat } from './shared-state.js';

export interface ServerThreadConfig {
  index: number;
  /** The role's options, with the port every thread listens on (the first thread's may be 0). */
  options: PingPongServerOptions;
  seed: number;
  buffer: SharedArrayBuffer;
  logLevel: string;
}

export type ToServerThread = { type: 'start'; anchorMs: number } | { type: 'shutdown'; deadline: number };
export type FromServerThread =
  | { type: 'listening'; port: number }
  | { type: 'error'; message: string; code?: string }
  /** This thread's part of keepalive k (epoch ms). */
  | { type: 'keepalive'; k: number; recipients: number; scheduledAt: number; startedAt: number; endedAt: number };

/** How often a thread publishes its heap size for the metrics. */
const HEAP_REPORT_MS = 1000;

if (!isMainThread && parentPort) await runServerThread(workerData as ServerThreadConfig, parentPort);

async function runServerThread(config: ServerThreadConfig, port: NonNullable<typeof parentPort>): Promise<void> {
  const { options, index } = config;
  const post = (msg: FromServerThread) => port.postMessage(msg);
  const logger = createLogger('pingpong-server', config.logLevel).child({ thread: index });
  const state = new SharedServerState(config.buffer);
  // The main thread truncated the file; every thread appends whole lines to it.
  const log = options.log ? new LogFile(options.log, { append: true }) : NO_LOG;
  // Straight to the process's stdout, one whole line per write (a worker's process.stdout goes through the main thread).
  const say = (line: string) => {
    if (!options.quiet) writeSync(1, line + '\n');
  };

  // Every bad line is counted; the log gets at most REJECTION_LOG_BURST of them per window (a flood of 64 KiB of
  // newlines is 65,536 bad lines).
  const badLineLog = new RateLimitedLog(logger);
  const core = new PingPongServerCore(
    serverSettings(options),
    mulberry32(config.seed),
    log,
    {
      request: (_session, outcome) => state.count(requestStat(outcome)),
      badLine(session, reason, text) {
        state.count(badLineStat(reason));
        badLineLog.log({ client: session.id, reason, line: text.slice(0, 200), badLines: session.badLines }, `bad line from client ${session.id} (${reason})`);
      },
      keepalive(k, recipients, lagMs, broadcastMs) {
        const endedAt = Date.now();
        const startedAt = endedAt - broadcastMs;
        post({ type: 'keepalive', k, recipients, scheduledAt: startedAt - lagMs, startedAt, endedAt });
      },
    },
    Date.now,
    state,
  );

  let listener;
  try {
    listener = await listenPingPong(core, { host: options.host, port: options.port, reusePort: true, maxWriteBuffer: options.maxWriteBuffer }, logger, {
      say,
      dropped: (_session, reason) => state.count(droppedStat(reason)),
    });
  } catch (err) {
    post({ type: 'error', message: (err as Error).message, code: (err as NodeJS.ErrnoException).code });
    log.close();
    port.close();
    return;
  }
  const reportHeap = () => state.setHeapUsed(index, getHeapStatistics().used_heap_size);
  reportHeap();
  const heapTimer = setInterval(reportHeap, HEAP_REPORT_MS);
  heapTimer.unref();

  const server = listener;
  port.on('message', (msg: ToServerThread) => {
    if (msg.type === 'start') core.startKeepalives(msg.anchorMs);
    else if (msg.type === 'shutdown') {
      void server.close(msg.deadline).then(() => {
        clearInterval(heapTimer);
        log.close();
        process.exit(EXIT_OK); // ends this thread only; nothing of it is needed any more
      });
    }
  });
  post({ type: 'listening', port: listener.port });
}
