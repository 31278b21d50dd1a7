import { open, type Database, type RootDatabase } from 'lmdb';
import type { FailureReason, MessageState } from './protocol.js';
import { ensureDataDir } from './store-check.js';

/** One failed attempt: who held the lease, when it started and ended, and why it failed. */
export interface AttemptRecord {
  client: string;
  leasedAt: number;
  at: number;
  reason: FailureReason;
}

/** A message as stored: its state and full history. Times are Unix milliseconds. */
export interface MessageRecord {
  id: string;
  period: number;
  state: MessageState;
  createdAt: number;
  /** Failed attempts, oldest first. */
  attempts: AttemptRecord[];
  /** The open lease while state is "leased". */
  lease?: { client: string; at: number; expiresAt: number };
  /** The attempt that succeeded, once state is "done". */
  done?: { client: string; leasedAt: number; at: number };
}

/** What the dead-letter store keeps: the message and every failed attempt. */
export interface DeadLetterRecord {
  id: string;
  period: number;
  createdAt: number;
  deadAt: number;
  attempts: AttemptRecord[];
}

const GENERATED_KEY = 'generated';
/** Dead messages removed (record and dead letter) by the retention limit, ever. */
const EVICTED_KEY = 'evicted';
/** Messages dead-lettered without a single report on them (every attempt ended by stream loss, expiry or the dispatcher), ever. */
const ABANDONED_KEY = 'abandoned';
/** Room for named databases; three are used. */
const MAX_DBS = 8;

/**
 * The dispatcher's LMDB environment in one directory: every message by id (`messages`), the
 * dead letters by id (`dead-letters`) and a counter of ids ever generated (`meta`). Writes are
 * lmdb-js async puts: every put issued in one event-loop turn lands in one transaction, in call
 * order, and its promise resolves once that transaction is committed.
 */
export class DispatchStore {
  readonly root: RootDatabase;
  readonly messages: Database<MessageRecord, string>;
  readonly deadLetters: Database<DeadLetterRecord, string>;
  private readonly meta: Database<number, string>;
  /** Promise of the last write issued: it resolves when that write's transaction commits, and writes commit in order. */
  private lastWrite: Promise<boolean> = Promise.resolve(true);

  constructor(dir: string, options: { readOnly?: boolean } = {}) {
    if (!options.readOnly) ensureDataDir(dir);
    this.root = open({ path: dir, maxDbs: MAX_DBS, readOnly: options.readOnly ?? false });
    this.messages = this.root.openDB<MessageRecord, string>({ name: 'messages' });
    this.deadLetters = this.root.openDB<DeadLetterRecord, string>({ name: 'dead-letters' });
    this.meta = this.root.openDB<number, string>({ name: 'meta' });
  }

  putMessage(record: MessageRecord): Promise<boolean> {
    return (this.lastWrite = this.messages.put(record.id, record));
  }

  putDeadLetter(record: DeadLetterRecord): Promise<boolean> {
    return (this.lastWrite = this.deadLetters.put(record.id, record));
  }

  get generated(): number {
    return this.meta.get(GENERATED_KEY) ?? 0;
  }

  putGenerated(count: number): Promise<boolean> {
    return (this.lastWrite = this.meta.put(GENERATED_KEY, count));
  }

  get evicted(): number {
    return this.meta.get(EVICTED_KEY) ?? 0;
  }

  putEvicted(count: number): Promise<boolean> {
    return (this.lastWrite = this.meta.put(EVICTED_KEY, count));
  }

  /** Undefined for a store written before the count was kept. */
  get abandoned(): number | undefined {
    return this.meta.get(ABANDONED_KEY);
  }

  putAbandoned(count: number): Promise<boolean> {
    return (this.lastWrite = this.meta.put(ABANDONED_KEY, count));
  }

  /** Removes a dead message and its dead letter (the retention limit's eviction). */
  evict(id: string): Promise<boolean> {
    // Committed in order with the dead letter's removal, whose promise is returned.
    void this.messages.remove(id);
    return (this.lastWrite = this.deadLetters.remove(id));
  }

  getMessage(id: string): MessageRecord | undefined {
    return this.messages.get(id);
  }

  getDeadLetter(id: string): DeadLetterRecord | undefined {
    return this.deadLetters.get(id);
  }

  /** Every message, in id (creation) order, as of the latest commit. */
  *allMessages(): Generator<MessageRecord> {
    this.root.resetReadTxn();
    for (const { value } of this.messages.getRange({ snapshot: true })) yield value;
  }

  /** One page of dead letters after the cursor `after` (exclusive), and the cursor of the next page. */
  deadLetterPage(limit: number, after?: string): { items: DeadLetterRecord[]; next: string | null } {
    this.root.resetReadTxn();
    const range = after === undefined ? { limit: limit + 1 } : { start: after, exclusiveStart: true, limit: limit + 1 };
    const items = [...this.deadLetters.getRange(range)].map((e) => e.value);
    const more = items.length > limit;
    if (more) items.length = limit;
    return { items, next: more ? items[items.length - 1]!.id : null };
  }

  *allDeadLetters(): Generator<DeadLetterRecord> {
    this.root.resetReadTxn();
    for (const { value } of this.deadLetters.getRange({ snapshot: true })) yield value;
  }

  /**
   * Resolves once every write issued so far is committed. (Not lmdb-js's `root.committed`: that
   * follows the current event-turn batch and can resolve while the previous turn's transaction is
   * still being written.)
   */
  get committed(): Promise<boolean> {
    return this.lastWrite;
  }

  async close(): Promise<void> {
    await this.lastWrite.catch(() => false);
    await this.root.close();
  }
}

/** The JSON shape of a dead letter in GET /dead-letters and `dispatcher dead-letters` (times as ISO 8601). */
export function deadLetterJson(record: DeadLetterRecord): {
  id: string;
  period: number;
  createdAt: string;
  deadAt: string;
  attempts: { client: string; at: string; reason: FailureReason; leasedAt: string }[];
} {
  return {
    id: record.id,
    period: record.period,
    createdAt: new Date(record.createdAt).toISOString(),
    deadAt: new Date(record.deadAt).toISOString(),
    attempts: record.attempts.map((a) => ({ client: a.client, at: new Date(a.at).toISOString(), reason: a.reason, leasedAt: new Date(a.leasedAt).toISOString() })),
  };
}
