import type { EchoModel } from '../models.js';
import type { EchoStats } from './echo-stats.js';

/** What a cluster worker process or a worker thread needs to run one echo listener. */
export interface EchoWorkerConfig {
  model: EchoModel;
  index: number;
  host: string;
  port: number;
  reusePort: boolean;
  idleTimeoutMs: number;
  framed: boolean;
  maxConnections: number;
}

/** Cluster workers read their config from this environment variable (JSON). */
export const WORKER_CONFIG_ENV = 'NETLAB_ECHO_WORKER_CONFIG';

/** How often a worker posts its counters to the primary. */
export const STATS_PUSH_MS = 1000;

export type FromWorker =
  | { type: 'listening'; port: number }
  | { type: 'stats'; stats: EchoStats }
  | { type: 'failed'; code?: string; message: string };

export type ToWorker = { type: 'shutdown'; deadline: number };

export const isFromWorker = (msg: unknown): msg is FromWorker =>
  typeof msg === 'object' && msg !== null && ['listening', 'stats', 'failed'].includes((msg as { type?: string }).type ?? '');
