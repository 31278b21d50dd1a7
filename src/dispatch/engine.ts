import { NetlabError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { uniformInt as randomInt, type Random } from '../core/prng.js';
import { Fifo } from './fifo.js';
import { FAILURE_REASONS, formatMessageEvent, MAX_PERIOD, MIN_PERIOD, type FailureReason, type ReportResult, type StatsBody } from './protocol.js';
import type { DispatchStore, MessageRecord } from './store.js';
import { newXid } from './xid.js';

/** setTimeout fires at once above 2^31-1 ms; longer leases are held to this (24.8 days). */
export const MAX_LEASE_TIMER_MS = 2 ** 31 - 1;
/** Reports from a client that has gone are answered "all ignored" (not 400) for this many recent clients. */
export const MAX_DEPARTED_CLIENTS = 100_000;
/** Default of --generation-credit: how far messages in play plus abandoned ones may run ahead of the done ones. */
export const DEFAULT_GENERATION_CREDIT = 10_000;
/** Default of --abandoned-window: an abandoned message holds back generation this long, then is forgiven. */
export const DEFAULT_ABANDONED_WINDOW_MS = 60_000;
/** Default of --max-dead-letters: dead letters kept; the oldest beyond it are evicted. */
export const DEFAULT_MAX_DEAD_LETTERS = 100_000;

/** How the engine talks to one connected client; the transport (SSE) implements it. */
export interface ClientHandle {
  /** Writes already-framed event-stream text. */
  send(text: string): void;
  /** Ends the stream (the engine has dropped the client). */
  close(): void;
}

/** Callbacks for metrics; every one optional. */
export interface EngineObserver {
  generated?(count: number): void;
  leased?(count: number): void;
  done?(count: number): void;
  failed?(reason: FailureReason, count: number): void;
  dead?(count: number): void;
  /** Dead messages evicted (record and dead letter) by the retention limit. */
  evicted?(count: number): void;
  /** A batch ended: how long it was out, and whether the client reported it. */
  batchEnded?(seconds: number, reported: boolean): void;
  /** Time from issuing a state change to its LMDB commit. */
  committed?(seconds: number): void;
}

export interface EngineOptions {
  store: DispatchStore;
  logger: Logger;
  leaseMs: number;
  maxAttempts: number;
  /** Most freshly generated messages kept waiting unassigned. */
  backlog: number;
  /**
   * A message is generated only while queued + leased + abandoned (dead without a single report, within
   * the window) stays below this plus the done count: generation follows what clients complete.
   */
  generationCredit?: number;
  /** How long an abandoned message counts against the credit (so clients that come later are served again). */
  abandonedWindowMs?: number;
  /** Dead letters kept; the oldest beyond this are removed with their message records and counted. */
  maxDeadLetters?: number;
  random: Random;
  observer?: EngineObserver;
  /** A commit failed: memory and disk may disagree, so the process must stop (a restart recovers from disk). */
  onFatal(err: unknown): void;
}

interface Batch {
  ids: string[];
  leasedAt: number;
  /** When the events were written (after the lease was committed). */
  sentAt?: number;
  timer: NodeJS.Timeout;
  expired: boolean;
}

interface Client {
  id: string;
  batchsize: number;
  handle: ClientHandle;
  /** The unreported batch; a client without one is free. */
  batch?: Batch;
}

/**
 * The dispatcher's state machine. Every change is applied in memory (so no two clients can ever
 * take the same message) and issued to LMDB in the same event-loop turn; nothing leaves the
 * process (events to a client, a report's answer) before the LMDB commit of the change it reflects.
 * Messages live in memory only while queued or leased; done and dead ones are only on disk.
 */
export class DispatchEngine {
  private readonly live = new Map<string, MessageRecord>();
  /** Failed messages waiting for another attempt; served before fresh ones. */
  private readonly retries = new Fifo<string>();
  private readonly fresh = new Fifo<string>();
  private readonly clients = new Map<string, Client>();
  /** Free clients in the order they became free: they are served in turn. */
  private readonly free = new Set<Client>();
  private readonly departed = new Set<string>();
  /** Ids of the stored dead letters, oldest first: the eviction order. */
  private readonly deadOrder = new Fifo<string>();
  private readonly generationCredit: number;
  private readonly abandonedWindowMs: number;
  /** When each message abandoned within the window was dead-lettered (Date.now), oldest first. */
  private readonly recentAbandoned = new Fifo<number>();
  private creditTimer: NodeJS.Timeout | undefined;
  private readonly maxDeadLetters: number;
  private abandonedCount = 0;
  private evictedCount = 0;
  private leasedCount = 0;
  private doneCount = 0;
  private deadCount = 0;
  private generatedCount = 0;
  private closing = false;

  private constructor(private readonly options: EngineOptions) {
    this.generationCredit = options.generationCredit ?? DEFAULT_GENERATION_CREDIT;
    this.maxDeadLetters = options.maxDeadLetters ?? DEFAULT_MAX_DEAD_LETTERS;
    this.abandonedWindowMs = options.abandonedWindowMs ?? DEFAULT_ABANDONED_WINDOW_MS;
  }

  /** Opens the engine on a store, first settling what a crash left behind. */
  static async open(options: EngineOptions): Promise<DispatchEngine> {
    const engine = new DispatchEngine(options);
    await engine.recover();
    return engine;
  }

  /**
   * Rebuilds memory from LMDB. Leases open at a crash count as failed attempts (their clients are
   * gone with the old process); a dead message missing its dead letter (impossible when both are
   * written in one transaction, cheap to repair) gets it.
   */
  private async recover(): Promise<void> {
    const { store, logger } = this.options;
    const now = Date.now();
    let records = 0;
    let reopened = 0;
    let last: Promise<boolean> | undefined;
    this.evictedCount = store.evicted;
    // Stores written before the count was kept: counted from what is left of them.
    const knownAbandoned = store.abandoned;
    this.abandonedCount = knownAbandoned ?? 0;
    for (const record of store.allMessages()) {
      records++;
      switch (record.state) {
        case 'done':
          this.doneCount++;
          break;
        case 'dead':
          this.deadCount++;
          this.deadOrder.push(record.id);
          if (knownAbandoned === undefined && isAbandoned(record)) this.abandonedCount++;
          if (!store.getDeadLetter(record.id)) last = store.putDeadLetter(deadLetterOf(record, record.attempts.at(-1)?.at ?? now));
          break;
        case 'queued':
          this.live.set(record.id, record);
          (record.attempts.length > 0 ? this.retries : this.fresh).push(record.id);
          break;
        case 'leased':
          this.live.set(record.id, record);
          this.leasedCount++;
          reopened++;
          last = this.fail(record, FAILURE_REASONS.dispatcherRestart, now);
          break;
      }
    }
    this.generatedCount = Math.max(store.generated, records + this.evictedCount);
    if (knownAbandoned === undefined) last = store.putAbandoned(this.abandonedCount);
    // Leases failed above can dead-letter messages; a lowered --max-dead-letters evicts at once.
    last = this.evictExcess() ?? last;
    if (last) await last;
    logger.info(
      { messages: records, queued: this.retries.length + this.fresh.length, done: this.doneCount, dead: this.deadCount, evicted: this.evictedCount, abandoned: this.abandonedCount, leasesFailed: reopened },
      records ? `recovered ${records} messages; ${reopened} leases open at the last stop counted as failed attempts` : 'empty store',
    );
  }

  /** Registers a client that just got its `hello`; it is free and will be served in turn. */
  connect(id: string, batchsize: number, handle: ClientHandle): void {
    if (this.closing) {
      handle.close();
      return;
    }
    const client: Client = { id, batchsize, handle };
    this.clients.set(id, client);
    this.free.add(client);
    this.pump();
  }

  /** The client's stream closed: its batch failed this attempt. */
  disconnect(id: string): void {
    const client = this.clients.get(id);
    if (!client || this.closing) return;
    this.clients.delete(id);
    this.free.delete(client);
    this.departed.add(id);
    if (this.departed.size > MAX_DEPARTED_CLIENTS) this.departed.delete(this.departed.values().next().value!);
    if (client.batch) {
      const last = this.endBatch(client, client.batch, FAILURE_REASONS.streamClosed, false);
      last?.catch((err: unknown) => this.options.onFatal(err));
      this.pump();
    }
  }

  /**
   * Marks the reported ids done when they are leased to this client; the rest are ignored. Ends the
   * client's batch: its messages not reported failed this attempt. Resolves once committed.
   */
  async report(clientId: string, ids: readonly string[]): Promise<ReportResult> {
    const client = this.clients.get(clientId);
    if (!client) {
      if (this.departed.has(clientId)) return { accepted: 0, ignored: ids.length };
      throw new NetlabError('NETLAB_ERR_BAD_REQUEST', `unknown client "${clientId.slice(0, 40)}": open GET /task first and use the id from its hello event`);
    }
    const batch = client.batch;
    if (!batch || this.closing) return { accepted: 0, ignored: ids.length };
    const now = Date.now();
    // Past the lease's end by the clock, the lease has expired even if its timer has not run yet: a busy
    // event loop can read the report before it runs the due timer.
    let last = !batch.expired && now - batch.leasedAt > this.options.leaseMs ? this.expire(client, batch) : undefined;
    const started = performance.now();
    let accepted = 0;
    const seen = new Set<string>();
    for (const id of ids) {
      if (seen.has(id)) continue;
      seen.add(id);
      const record = this.live.get(id);
      if (!record || record.state !== 'leased' || record.lease?.client !== clientId) continue;
      record.done = { client: clientId, leasedAt: record.lease.at, at: now };
      record.state = 'done';
      delete record.lease;
      this.live.delete(id);
      this.leasedCount--;
      this.doneCount++;
      accepted++;
      last = this.options.store.putMessage(record);
    }
    if (accepted) this.options.observer?.done?.(accepted);
    last = this.endBatch(client, batch, FAILURE_REASONS.notReported, true) ?? last;
    this.pump();
    if (last) {
      await last;
      this.options.observer?.committed?.((performance.now() - started) / 1000);
    }
    return { accepted, ignored: ids.length - accepted };
  }

  /** Fails what is still leased to the client from `batch`, frees the client (unless it left). */
  private endBatch(client: Client, batch: Batch, reason: FailureReason, reported: boolean): Promise<boolean> | undefined {
    clearTimeout(batch.timer);
    if (client.batch === batch) client.batch = undefined;
    if (this.clients.get(client.id) === client) this.free.add(client);
    if (!batch.expired) this.options.observer?.batchEnded?.((Date.now() - (batch.sentAt ?? batch.leasedAt)) / 1000, reported);
    return this.failHeld(client, batch, reason, Date.now()).last;
  }

  /** Fails every message of `batch` still leased to `client`. */
  private failHeld(client: Client, batch: Batch, reason: FailureReason, now: number): { last?: Promise<boolean>; failed: number } {
    let last: Promise<boolean> | undefined;
    let failed = 0;
    for (const id of batch.ids) {
      const record = this.live.get(id);
      if (record?.state === 'leased' && record.lease?.client === client.id) {
        last = this.fail(record, reason, now);
        failed++;
      }
    }
    if (failed) this.options.observer?.failed?.(reason, failed);
    return { last, failed };
  }

  /** The lease ran out: the messages fail; the client stays busy until it reports or leaves. Resolves once committed. */
  private expire(client: Client, batch: Batch): Promise<boolean> | undefined {
    if (client.batch !== batch || this.closing) return undefined;
    const now = Date.now();
    const { last, failed } = this.failHeld(client, batch, FAILURE_REASONS.leaseExpired, now);
    batch.expired = true;
    this.options.observer?.batchEnded?.((now - (batch.sentAt ?? batch.leasedAt)) / 1000, false);
    this.options.logger.warn({ client: client.id, messages: failed }, 'lease expired');
    last?.catch((err: unknown) => this.options.onFatal(err));
    this.pump();
    return last;
  }

  /** Records a failed attempt; the message goes back to the queue, or to the dead letters after the last attempt. */
  private fail(record: MessageRecord, reason: FailureReason, now: number): Promise<boolean> {
    const lease = record.lease!;
    record.attempts.push({ client: lease.client, leasedAt: lease.at, at: now, reason });
    delete record.lease;
    this.leasedCount--;
    const { store } = this.options;
    if (record.attempts.length >= this.options.maxAttempts) {
      record.state = 'dead';
      this.live.delete(record.id);
      this.deadCount++;
      this.options.observer?.dead?.(1);
      // Committed in order with the dead letter, whose promise the caller awaits.
      void store.putMessage(record);
      let last = store.putDeadLetter(deadLetterOf(record, now));
      this.deadOrder.push(record.id);
      if (isAbandoned(record)) {
        this.recentAbandoned.push(now);
        last = store.putAbandoned(++this.abandonedCount);
      }
      return this.evictExcess() ?? last;
    }
    record.state = 'queued';
    this.retries.push(record.id);
    return store.putMessage(record);
  }

  /** Removes the oldest dead letters beyond --max-dead-letters, with their message records. */
  private evictExcess(): Promise<boolean> | undefined {
    let evicted = 0;
    while (this.deadOrder.length > this.maxDeadLetters) {
      // Its commit is awaited through the putEvicted below: lmdb commits writes in order.
      void this.options.store.evict(this.deadOrder.shift()!);
      this.deadCount--;
      evicted++;
    }
    if (!evicted) return undefined;
    this.evictedCount += evicted;
    this.options.observer?.evicted?.(evicted);
    return this.options.store.putEvicted(this.evictedCount);
  }

  /**
   * How many messages may be generated now: the credit plus what clients completed, less what is in
   * play (queued, leased) and what was abandoned within the window. Clients that never report cannot
   * make it grow; what they abandoned is forgiven after the window, so later clients are served again.
   */
  generationCreditLeft(): number {
    const since = Date.now() - this.abandonedWindowMs;
    while ((this.recentAbandoned.peek() ?? Infinity) <= since) this.recentAbandoned.shift();
    return Math.max(0, this.generationCredit + this.doneCount - this.live.size - this.recentAbandoned.length);
  }

  /** A client waits for credit that only the window's end can bring: pump again then. */
  private pumpWhenForgiven(): void {
    const oldest = this.recentAbandoned.peek();
    if (this.creditTimer || oldest === undefined) return;
    this.creditTimer = setTimeout(() => {
      this.creditTimer = undefined;
      this.pump();
    }, Math.max(0, oldest + this.abandonedWindowMs - Date.now()) + 1);
    this.creditTimer.unref();
  }

  /** Serves free clients in turn (a batch only when queued messages and the credit can fill it), then tops up the backlog. */
  private pump(): void {
    if (this.closing) return;
    const { store, leaseMs } = this.options;
    let generated = 0;
    for (const client of this.free) {
      // Exactly batchsize messages or none: a client the queue and the credit cannot fill waits its turn.
      if (this.retries.length + this.fresh.length + this.generationCreditLeft() < client.batchsize) {
        this.pumpWhenForgiven();
        continue;
      }
      this.free.delete(client);
      const now = Date.now();
      const ids: string[] = [];
      let text = '';
      let last!: Promise<boolean>;
      while (ids.length < client.batchsize) {
        let record = this.take();
        if (!record) {
          record = this.generate(now);
          generated++;
        }
        record.state = 'leased';
        record.lease = { client: client.id, at: now, expiresAt: now + leaseMs };
        ids.push(record.id);
        text += formatMessageEvent(record);
        last = store.putMessage(record);
      }
      this.leasedCount += ids.length;
      const batch: Batch = { ids, leasedAt: now, expired: false, timer: setTimeout(() => void this.expire(client, batch), Math.min(leaseMs, MAX_LEASE_TIMER_MS)) };
      batch.timer.unref();
      client.batch = batch;
      this.options.observer?.leased?.(ids.length);
      const started = performance.now();
      last.then(
        () => {
          this.options.observer?.committed?.((performance.now() - started) / 1000);
          if (client.batch === batch && this.clients.get(client.id) === client) {
            batch.sentAt = Date.now();
            client.handle.send(text);
          }
        },
        (err: unknown) => this.options.onFatal(err),
      );
    }
    if (this.clients.size > 0) {
      const now = Date.now();
      while (this.fresh.length < this.options.backlog && this.generationCreditLeft() > 0) {
        const record = this.generate(now);
        generated++;
        this.fresh.push(record.id);
        // Committed in order before the putGenerated below, whose failure is fatal.
        void store.putMessage(record);
      }
    }
    if (generated) {
      this.options.observer?.generated?.(generated);
      store.putGenerated(this.generatedCount).catch((err: unknown) => this.options.onFatal(err));
    }
  }

  /** The next queued message: retries first, then the backlog. */
  private take(): MessageRecord | undefined {
    const id = this.retries.shift() ?? this.fresh.shift();
    return id === undefined ? undefined : this.live.get(id);
  }

  private generate(now: number): MessageRecord {
    const record: MessageRecord = {
      id: newXid(new Date(now)),
      period: randomInt(this.options.random, MIN_PERIOD, MAX_PERIOD),
      state: 'queued',
      createdAt: now,
      attempts: [],
    };
    this.live.set(record.id, record);
    this.generatedCount++;
    return record;
  }

  stats(): StatsBody {
    return {
      queued: this.retries.length + this.fresh.length,
      leased: this.leasedCount,
      done: this.doneCount,
      dead: this.deadCount,
      clients: this.clients.size,
      free: this.free.size,
      generated: this.generatedCount,
      evicted: this.evictedCount,
      abandoned: this.abandonedCount,
      generationCredit: this.generationCreditLeft(),
    };
  }

  /** Age in seconds of the oldest open lease (0 when none). */
  oldestLeaseSeconds(): number {
    let oldest = Infinity;
    for (const client of this.clients.values()) {
      if (client.batch && !client.batch.expired) oldest = Math.min(oldest, client.batch.leasedAt);
    }
    return oldest === Infinity ? 0 : (Date.now() - oldest) / 1000;
  }

  /** Graceful stop: open leases fail (their clients lose their streams now), streams end, writes commit. */
  async shutdown(): Promise<void> {
    if (this.closing) return;
    const now = Date.now();
    let failed = 0;
    for (const client of this.clients.values()) {
      if (client.batch) {
        clearTimeout(client.batch.timer);
        failed += this.failHeld(client, client.batch, FAILURE_REASONS.dispatcherShutdown, now).failed;
        client.batch = undefined;
      }
    }
    this.closing = true;
    clearTimeout(this.creditTimer);
    for (const client of this.clients.values()) client.handle.close();
    this.clients.clear();
    this.free.clear();
    await this.options.store.committed;
    this.options.logger.info({ leasesFailed: failed, ...this.stats() }, 'dispatcher state committed');
  }
}

/** Dead without a single report on it: every attempt ended by stream loss, lease expiry or the dispatcher. */
function isAbandoned(record: MessageRecord): boolean {
  return !record.attempts.some((a) => a.reason === FAILURE_REASONS.notReported);
}

function deadLetterOf(record: MessageRecord, at: number) {
  return { id: record.id, period: record.period, createdAt: record.createdAt, deadAt: at, attempts: record.attempts };
}
