import type pg from 'pg';
import { NetlabError } from '../core/errors.js';
import type { PrismaClient } from '../generated/prisma/client.js';
import { isConnectionError, isPoolBusyError, type DatabaseHealth } from './db-health.js';
import { WINDOW_SIZE, type MessageView, type NewMessage } from './protocol.js';
import { WriteBatcher } from './write-batcher.js';

/**
 * A group is written in two statements (prisma/migrations/*_window_read_after_commit):
 * netlab_append_messages numbers and stores it and commits asynchronously, so the ordering lock is
 * held neither through an fsync nor through reading windows; netlab_flushed_window then commits
 * synchronously, which flushes the WAL past the group, and returns the rows of its windows. Only
 * then is the group durable and answered.
 */
const APPEND_SQL = 'SELECT netlab_append_messages($1::text[], $2::text[]) AS base';
const WINDOW_SQL = 'SELECT seq, sender, text, sent_at, user_count FROM netlab_flushed_window($1::bigint, $2::int)';

interface Row {
  seq: string;
  sender: string;
  text: string;
  sent_at: Date;
  user_count: string;
}

export interface MessageStoreOptions {
  pool: pg.Pool;
  prisma: PrismaClient;
  health: DatabaseHealth;
  maxBatch: number;
  concurrency: number;
  onBatch?(size: number, seconds: number): void;
}

const view = (seq: number | bigint | string, sender: string, text: string, sentAt: Date, userCount: number | bigint | string): MessageView => ({
  seq: Number(seq),
  sender,
  text,
  sentAt: sentAt.toISOString(),
  userCount: Number(userCount),
});

/**
 * Stores messages in groups (one database call per group) and answers each caller with its window,
 * already serialized: each row is turned into JSON once per group, not once per window it is in.
 */
export class MessageStore {
  private readonly batcher: WriteBatcher<NewMessage, string>;

  constructor(private readonly options: MessageStoreOptions) {
    this.batcher = new WriteBatcher({
      maxBatch: options.maxBatch,
      concurrency: options.concurrency,
      write: (items) => this.writeGroup(items),
      onBatch: options.onBatch,
    });
  }

  /** Stores one message; resolves with the JSON body `{"messages": [...]}` of its window. */
  post(message: NewMessage): Promise<string> {
    if (!this.options.health.available) return Promise.reject(new NetlabError('NETLAB_ERR_DB_UNAVAILABLE'));
    return this.batcher.submit(message);
  }

  drained(): Promise<void> {
    return this.batcher.drained();
  }

  private async writeGroup(items: NewMessage[]): Promise<string[]> {
    let rows: Row[];
    let base: number;
    let client: pg.PoolClient | undefined;
    try {
      client = await this.options.pool.connect();
      base = Number((await client.query<{ base: string }>(APPEND_SQL, [items.map((m) => m.sender), items.map((m) => m.text)])).rows[0]!.base);
      rows = (await client.query<Row>(WINDOW_SQL, [base, items.length])).rows;
      client.release();
    } catch (err) {
      client?.release(err as Error);
      throw this.databaseError(err);
    }
    const json = new Map<number, string>();
    for (const r of rows) {
      const seq = Number(r.seq);
      json.set(seq, JSON.stringify(view(seq, r.sender, r.text, r.sent_at, r.user_count)));
    }
    const first = base + 1;
    return items.map((_, i) => {
      const own = first + i;
      const parts: string[] = [];
      for (let s = Math.max(1, own - WINDOW_SIZE + 1); s <= own; s++) parts.push(json.get(s)!);
      return `{"messages":[${parts.join(',')}]}`;
    });
  }

  /** A page of history in ascending seq: the `limit` newest messages before `before` (or overall). */
  async history(limit: number, before?: number): Promise<MessageView[]> {
    try {
      const rows = await this.options.prisma.message.findMany({
        where: before === undefined ? {} : { seq: { lt: BigInt(before) } },
        orderBy: { seq: 'desc' },
        take: limit,
      });
      return rows.reverse().map((m) => view(m.seq, m.sender, m.text, m.sentAt, m.userCount));
    } catch (err) {
      throw this.databaseError(err);
    }
  }

  private databaseError(err: unknown): NetlabError {
    if (isPoolBusyError(err)) return new NetlabError('NETLAB_ERR_DB_UNAVAILABLE', `database busy: ${(err as Error).message}`, { cause: err });
    this.options.health.report(err);
    const code = isConnectionError(err) ? 'NETLAB_ERR_DB_UNAVAILABLE' : 'NETLAB_ERR_INTERNAL';
    return new NetlabError(code, `database error: ${(err as Error).message}`, { cause: err });
  }
}
