import { NetlabError } from '../core/errors.js';
import { isXid } from './xid.js';

/** The dispatcher's HTTP port unless --port says otherwise. */
export const DEFAULT_PORT = 8090;
/** A message's period is uniform over MIN_PERIOD..MAX_PERIOD (ms), both ends possible. */
export const MIN_PERIOD = 1;
export const MAX_PERIOD = 1000;
/** A comment line on every stream this often keeps proxies and load balancers from closing it. */
export const PING_INTERVAL_MS = 15_000;
/** Largest batch a client may ask for unless --max-batch says otherwise. */
export const DEFAULT_MAX_BATCH = 1000;
/** A report names at most a batch of 20-character ids; this leaves room for 1,000 of them quoted. */
export const MAX_REPORT_BYTES = 64 * 1024;
export const DEFAULT_DEAD_LETTER_PAGE = 100;
export const MAX_DEAD_LETTER_PAGE = 1000;

/** What a worker receives: `data:` of one `msg` event. */
export interface WorkMessage {
  id: string;
  period: number;
}

/** Why an attempt ended without the message being done. */
export const FAILURE_REASONS = {
  notReported: 'not-reported',
  streamClosed: 'stream-closed',
  leaseExpired: 'lease-expired',
  dispatcherShutdown: 'dispatcher-shutdown',
  dispatcherRestart: 'dispatcher-restart',
} as const;
export type FailureReason = (typeof FAILURE_REASONS)[keyof typeof FAILURE_REASONS];

/** Reasons that say nothing about the message itself: the worker, its connection or the dispatcher failed. */
export const isEnvironmentFailure = (reason: FailureReason): boolean => reason !== FAILURE_REASONS.notReported;

export const MESSAGE_STATES = ['queued', 'leased', 'done', 'dead'] as const;
export type MessageState = (typeof MESSAGE_STATES)[number];

export interface StatsBody {
  queued: number;
  leased: number;
  done: number;
  dead: number;
  clients: number;
  free: number;
  generated: number;
  /** Dead messages removed by the retention limit (--max-dead-letters), ever; `dead` counts the ones kept. */
  evicted: number;
  /** Messages dead-lettered without a single report on them, ever (they hold back generation). */
  abandoned: number;
  /** Messages that may be generated now (see --generation-credit). */
  generationCredit: number;
}

export interface ReportResult {
  accepted: number;
  ignored: number;
}

/** `batchsize` of GET /task: a whole number 1..maxBatch, or a 400 saying what is wrong. */
export function parseBatchSize(text: string | undefined, maxBatch: number): number {
  if (text === undefined || text === '') throw new NetlabError('NETLAB_ERR_BAD_REQUEST', 'batchsize is required: GET /task?batchsize=N');
  if (!/^\d+$/.test(text.trim())) throw new NetlabError('NETLAB_ERR_BAD_REQUEST', `batchsize must be a whole number from 1 to ${maxBatch}, got "${text.slice(0, 40)}"`);
  const n = Number(text.trim());
  if (n < 1 || n > maxBatch) throw new NetlabError('NETLAB_ERR_BAD_REQUEST', `batchsize must be from 1 to ${maxBatch}, got ${text.trim().slice(0, 40)}`);
  return n;
}

/** Body of POST /report: `["id", ...]` or `{"ids": [...]}`; ids are strings (unknown ones are ignored later). */
export function parseReportBody(text: string): string[] {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new NetlabError('NETLAB_ERR_BAD_JSON', 'report body is not valid JSON: send ["id", ...] or {"ids": [...]}');
  }
  const ids = Array.isArray(body) ? body : body !== null && typeof body === 'object' && 'ids' in body ? (body as { ids: unknown }).ids : undefined;
  if (!Array.isArray(ids)) throw new NetlabError('NETLAB_ERR_BAD_REQUEST', 'report body must be ["id", ...] or {"ids": [...]}');
  if (!ids.every((id): id is string => typeof id === 'string')) throw new NetlabError('NETLAB_ERR_BAD_REQUEST', 'every id in a report must be a string');
  return ids;
}

/** `limit` and `after` of GET /dead-letters. */
export function parseDeadLetterQuery(limit: string | undefined, after: string | undefined): { limit: number; after?: string } {
  let n = DEFAULT_DEAD_LETTER_PAGE;
  if (limit !== undefined && limit !== '') {
    if (!/^\d+$/.test(limit) || Number(limit) < 1 || Number(limit) > MAX_DEAD_LETTER_PAGE) {
      throw new NetlabError('NETLAB_ERR_BAD_REQUEST', `limit must be a whole number from 1 to ${MAX_DEAD_LETTER_PAGE}`);
    }
    n = Number(limit);
  }
  if (after !== undefined && after !== '' && !isXid(after)) throw new NetlabError('NETLAB_ERR_BAD_REQUEST', 'after must be a message id (the "next" of the previous page)');
  return after ? { limit: n, after } : { limit: n };
}

/** One SSE event; `data` never holds a newline (it is compact JSON), so one `data:` line suffices. */
export function formatSseEvent(event: string, data: string, id?: string): string {
  return id === undefined ? `event: ${event}\ndata: ${data}\n\n` : `event: ${event}\nid: ${id}\ndata: ${data}\n\n`;
}

export const formatMessageEvent = (m: WorkMessage): string => formatSseEvent('msg', `{"id":"${m.id}","period":${m.period}}`, m.id);
export const SSE_PING = ': ping\n\n';
