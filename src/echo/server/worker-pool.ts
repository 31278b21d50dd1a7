import { within } from '../../core/async.js';
import type { Logger } from '../../core/logger.js';
import { CLOSE_MARGIN_MS } from './echo-listener.js';
import { emptyStats, retire, sumStats, type EchoStats } from './echo-stats.js';
import { isFromWorker, type EchoWorkerConfig, type ToWorker } from './worker-protocol.js';

/** A worker that does not report listening within this long fails the start. */
export const WORKER_START_TIMEOUT_MS = 15_000;
/** Pause before a crashed worker is replaced, so a crash loop does not eat the CPU. */
export const WORKER_RESTART_DELAY_MS = 1000;

/** A cluster worker or a worker thread, seen from the primary. */
export interface WorkerHandle {
  readonly label: string;
  send(msg: ToWorker): void;
  onMessage(handler: (msg: unknown) => void): void;
  onExit(handler: (code: number) => void): void;
  kill(): void;
}

export type SpawnWorker = (config: EchoWorkerConfig) => WorkerHandle;

interface Slot {
  handle: WorkerHandle;
  stats: EchoStats;
  exited: Promise<void>;
}

/** Errors from a worker's listen keep their code (EADDRINUSE), so the CLI exits 2 for a port in use. */
function workerError(message: string, code?: string): Error {
  return Object.assign(new Error(message), code ? { code } : {});
}

/**
 * Starts N workers of one model, sums their counters, replaces a worker that crashes, and stops
 * them all within the grace period on shutdown.
 */
export class EchoWorkerPool {
  private readonly slots: (Slot | undefined)[];
  private retired = emptyStats();
  private closing = false;

  constructor(
    private readonly spawn: SpawnWorker,
    private readonly config: Omit<EchoWorkerConfig, 'index'>,
    private readonly count: number,
    private readonly logger: Logger,
  ) {
    this.slots = new Array<Slot | undefined>(count).fill(undefined);
  }

  /** Resolves with the port once every worker listens; rejects (and stops the rest) if one cannot. */
  async start(): Promise<number> {
    try {
      const ports = await Promise.all(Array.from({ length: this.count }, (_, i) => this.startSlot(i)));
      return ports[0]!;
    } catch (err) {
      await this.shutdown(Date.now() + 2000);
      throw err;
    }
  }

  running(): number {
    return this.slots.filter(Boolean).length;
  }

  stats(): EchoStats {
    return sumStats([this.retired, ...this.slots.flatMap((s) => (s ? [s.stats] : []))]);
  }

  async shutdown(deadline: number): Promise<void> {
    this.closing = true;
    const live = this.slots.filter((s): s is Slot => s !== undefined);
    // Workers cut their connections off a margin before the pool's own deadline, the pool one margin before the role's.
    for (const slot of live) slot.handle.send({ type: 'shutdown', deadline: deadline - 2 * CLOSE_MARGIN_MS });
    const all = Promise.all(live.map((s) => s.exited));
    if ((await within(all, deadline - CLOSE_MARGIN_MS - Date.now())) === undefined) for (const slot of this.slots) slot?.handle.kill();
    await all;
  }

  private startSlot(index: number): Promise<number> {
    const handle = this.spawn({ ...this.config, index });
    let exit!: () => void;
    const slot: Slot = { handle, stats: emptyStats(), exited: new Promise((r) => (exit = r)) };
    this.slots[index] = slot;
    return new Promise<number>((resolve, reject) => {
      let listening = false;
      const timer = setTimeout(() => {
        reject(workerError(`${handle.label} did not start listening within ${WORKER_START_TIMEOUT_MS} ms`));
        handle.kill();
      }, WORKER_START_TIMEOUT_MS);
      handle.onMessage((msg) => {
        if (!isFromWorker(msg)) return;
        if (msg.type === 'listening') {
          listening = true;
          clearTimeout(timer);
          resolve(msg.port);
        } else if (msg.type === 'stats') slot.stats = msg.stats;
        else if (!listening) {
          clearTimeout(timer);
          reject(workerError(msg.message, msg.code));
        }
      });
      handle.onExit((code) => {
        clearTimeout(timer);
        this.retired = sumStats([this.retired, retire(slot.stats)]);
        if (this.slots[index] === slot) this.slots[index] = undefined;
        exit();
        if (!listening) reject(workerError(`${handle.label} exited with code ${code} before listening`));
        else if (!this.closing) this.replace(index, handle.label, code);
      });
    });
  }

  private replace(index: number, label: string, code: number): void {
    this.logger.warn({ worker: index, code }, `${label} exited unexpectedly (code ${code}); starting a new one in ${WORKER_RESTART_DELAY_MS} ms`);
    setTimeout(() => {
      if (this.closing) return;
      this.startSlot(index).then(
        () => this.logger.info({ worker: index }, `worker ${index} replaced`),
        (err: Error) => {
          this.logger.error({ worker: index, err }, `worker ${index} could not be replaced`);
          if (!this.closing) this.replace(index, `worker ${index}`, -1);
        },
      );
    }, WORKER_RESTART_DELAY_MS).unref();
  }
}
