import { sleep } from '../core/async.js';
import { EXIT_OK } from '../core/exit-codes.js';
import { Counter, type Registry } from '../core/metrics.js';
import { createRandom, type Random } from '../core/prng.js';
import type { RoleContext } from '../core/role.js';
import { createAgent } from './http-transport.js';
import { addStats, newWorkerStats, Worker } from './worker.js';

export interface WorkerCommandOptions {
  url: string;
  batchsize?: number;
  timeScale: number;
  exitRule: boolean;
  count: number;
  /** Replace exited workers in-process even with count 1 (the swarm path). */
  respawn?: boolean;
  durationMs: number;
  seed?: number;
}

/**
 * A swarm slot replaces a worker that exited after a random pause up to this long (as a Job
 * controller would, only faster). The jitter matters: at time-scale 0 hundreds of workers exit in
 * the same millisecond, and reconnecting all at once overflows the dispatcher's listen queue
 * (Node's default backlog is 511), which costs each dropped SYN a 1 s retransmit.
 */
export const SWARM_RESTART_MAX_MS = 200;

function workerMetrics(registry: Registry) {
  const tasks = new Counter({ name: 'netlab_worker_tasks_total', help: 'Tasks by outcome (succeeded, panicked, rejected, cancelled).', labelNames: ['outcome'], registers: [registry] });
  const ids = new Counter({ name: 'netlab_worker_reported_ids_total', help: 'Ids in reports, by the answer (accepted, ignored).', labelNames: ['outcome'], registers: [registry] });
  const exits = new Counter({ name: 'netlab_worker_exits_total', help: 'Workers ended by the period > 900 rule (swarm mode restarts them).', registers: [registry] });
  // Every outcome at 0 from the start: a dashboard shows 0, not "No data", until the first one.
  for (const outcome of ['succeeded', 'panicked', 'rejected', 'cancelled']) tasks.labels(outcome).inc(0);
  for (const outcome of ['accepted', 'ignored']) ids.labels(outcome).inc(0);
  return { tasks, ids, exits };
}

/**
 * `netlab worker`: one worker (the process exits with its code when the >900 rule fires), or with
 * --count N a swarm of N in this process, each replaced when it exits, for load tests.
 */
export async function runWorkerCommand(o: WorkerCommandOptions, { logger, lifecycle, registry }: RoleContext): Promise<number> {
  const metrics = workerMetrics(registry);
  const stop = new AbortController();
  lifecycle.signal.addEventListener('abort', () => stop.abort(), { once: true });
  const timer = o.durationMs > 0 ? setTimeout(() => stop.abort(), o.durationMs) : undefined;
  const random: Random = createRandom(o.seed);
  const total = newWorkerStats();
  const common = {
    url: o.url,
    batchsize: o.batchsize,
    timeScale: o.timeScale,
    exitRule: o.exitRule,
    random,
    signal: stop.signal,
    onTask: (outcome: string) => metrics.tasks.inc({ outcome }),
    onReport: (r: { accepted: number; ignored: number }) => {
      metrics.ids.inc({ outcome: 'accepted' }, r.accepted);
      metrics.ids.inc({ outcome: 'ignored' }, r.ignored);
    },
  };

  const work = o.count === 1 && !o.respawn ? runOne() : runSwarm();
  // SIGTERM: stop the workers and let them log their summary before the process exits.
  lifecycle.onShutdown('workers', async () => {
    stop.abort();
    await work;
  });
  await work;
  clearTimeout(timer);
  return EXIT_OK;

  async function runOne(): Promise<void> {
    const worker: Worker = new Worker({
      ...common,
      logger,
      onExit(code) {
        logger.info({ client: worker.client, batchsize: worker.batchsize, exitCode: code, ...worker.stats }, 'worker summary');
        process.exit(code);
      },
    });
    logger.info({ url: o.url, batchsize: worker.batchsize, timeScale: o.timeScale }, `worker with batchsize ${worker.batchsize}`);
    await worker.run();
    logger.info({ client: worker.client, batchsize: worker.batchsize, exitCode: EXIT_OK, ...worker.stats }, 'worker summary');
  }

  async function runSwarm(): Promise<void> {
    // A swarm shares one keep-alive agent; each worker holds one stream connection plus report requests.
    const agent = createAgent();
    let exits = 0;
    const slot = async (): Promise<void> => {
      while (!stop.signal.aborted) {
        const worker = new Worker({ ...common, agent, logger, quietExit: true, onExit: () => metrics.exits.inc() });
        const code = await worker.run();
        addStats(total, worker.stats);
        if (code === undefined) return;
        exits++;
        await sleep(random() * SWARM_RESTART_MAX_MS, stop.signal);
      }
    };
    logger.info({ url: o.url, count: o.count, timeScale: o.timeScale }, `swarm of ${o.count} workers`);
    await Promise.all(Array.from({ length: o.count }, slot));
    agent.destroy();
    logger.info({ count: o.count, exits, ...total }, 'worker summary');
  }
}
