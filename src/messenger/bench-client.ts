import { writeFile } from 'node:fs/promises';
import { sleep } from '../core/async.js';
import { EXIT_FAILED, EXIT_OK, EXIT_ORDERING_VIOLATION } from '../core/exit-codes.js';
import { histogram, summarize, type LatencySummary } from '../core/latency-stats.js';
import type { Logger } from '../core/logger.js';
import { ProgressBar } from '../core/progress.js';
import { LoadHttpConnection } from './load-http-client.js';
import type { MessageView } from './protocol.js';
import { verifyResponses, type AnsweredRequest, type VerifyResult } from './verify.js';

export const USER_NAMES = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy'];
/** Attempts of one request before it counts as an error (a dead replica is retried on another). */
export const MAX_ATTEMPTS = 20;
const RETRY_BACKOFF_MS = 25;
/** A replica that refused or dropped a connection is left alone this long before it is tried again. */
export const REPLICA_COOLDOWN_MS = 1000;

export interface BenchOptions {
  urls: string[];
  workers: number;
  requests: number;
  users: number;
  verify: boolean;
  timeoutMs: number;
  onProgress?: (done: number) => void;
}

export interface BenchResult {
  config: { urls: string[]; workers: number; requests: number; users: number };
  requests: number;
  ok: number;
  failed: number;
  retries: number;
  errors: Record<string, number>;
  totalSeconds: number;
  throughput: number;
  perReplica: Record<string, { requests: number; throughput: number }>;
  latencyMs: LatencySummary;
  latencyHistogramMs: { le: number | null; count: number }[];
  verify?: VerifyResult;
}

export const userNames = (n: number): string[] => Array.from({ length: n }, (_, i) => USER_NAMES[i] ?? `user${i + 1}`);

/** The exercise's client: `workers` concurrent loops, each sending `requests` messages in sequence. */
export async function runBench(options: BenchOptions): Promise<BenchResult> {
  // One keep-alive connection per worker and replica, opened on first use.
  const connections = Array.from({ length: options.workers }, () => options.urls.map((url) => LoadHttpConnection.fromUrl(url, options.timeoutMs)));
  const replicas = options.urls.map((_, i) => i);
  const names = userNames(options.users);
  const errors: Record<string, number> = {};
  const perReplica = options.urls.map(() => 0);
  const latencies: number[] = [];
  const answered: AnsweredRequest[] = [];
  let retries = 0;
  let failed = 0;
  let done = 0;
  const runId = Math.random().toString(36).slice(2, 8);
  const count = (key: string) => (errors[key] = (errors[key] ?? 0) + 1);

  const downUntil = options.urls.map(() => 0);
  /** A random replica, avoiding those that failed recently (and `avoid`) while another is left. */
  function pick(avoid = -1): number {
    const now = performance.now();
    const healthy = replicas.filter((i) => i !== avoid && downUntil[i]! <= now);
    const from = healthy.length > 0 ? healthy : replicas.filter((i) => i !== avoid || replicas.length === 1);
    return from[Math.floor(Math.random() * from.length)]!;
  }

  async function send(worker: number, sender: string, text: string): Promise<MessageView[] | undefined> {
    const body = JSON.stringify({ sender, text });
    let replica = pick();
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      let retryable = true;
      try {
        const res = await connections[worker]![replica]!.request('POST', '/messages', 'application/json', body);
        if (res.status === 201) {
          perReplica[replica]!++;
          return options.verify ? (JSON.parse(res.body.toString('utf8')) as { messages: MessageView[] }).messages : [];
        }
        count(`http_${res.status}`);
        retryable = res.status === 503;
      } catch (err) {
        count((err as { code?: string }).code ?? 'network');
        downUntil[replica] = performance.now() + REPLICA_COOLDOWN_MS;
      }
      if (!retryable) return undefined;
      retries++;
      replica = pick(replica);
      await sleep(RETRY_BACKOFF_MS * Math.min(attempt, 8));
    }
    return undefined;
  }

  async function worker(w: number): Promise<void> {
    for (let r = 0; r < options.requests; r++) {
      const sender = names[Math.floor(Math.random() * names.length)]!;
      const text = `${runId} w${w} r${r}`;
      const sentAt = performance.now();
      const messages = await send(w, sender, text);
      const answeredAt = performance.now();
      if (messages) {
        latencies.push(answeredAt - sentAt);
        if (options.verify) answered.push({ sender, text, sentAt, answeredAt, messages });
      } else failed++;
      options.onProgress?.(++done);
    }
  }

  const started = performance.now();
  await Promise.all(Array.from({ length: options.workers }, (_, w) => worker(w)));
  const totalSeconds = (performance.now() - started) / 1000;
  for (const row of connections) for (const c of row) c.close();

  const ok = latencies.length;
  return {
    config: { urls: options.urls, workers: options.workers, requests: options.requests, users: options.users },
    requests: options.workers * options.requests,
    ok,
    failed,
    retries,
    errors,
    totalSeconds,
    throughput: ok / totalSeconds,
    perReplica: Object.fromEntries(options.urls.map((url, i) => [url, { requests: perReplica[i]!, throughput: perReplica[i]! / totalSeconds }])),
    latencyMs: summarize(latencies),
    latencyHistogramMs: histogram(latencies, [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]),
    verify: options.verify ? verifyResponses(answered) : undefined,
  };
}

const f = (n: number, digits = 2) => n.toFixed(digits);

export function formatBenchResult(r: BenchResult): string {
  const l = r.latencyMs;
  const lines = [
    `requests: ${r.requests} (${r.ok} ok, ${r.failed} failed, ${r.retries} retried attempts)`,
    `total time: ${f(r.totalSeconds, 3)} s for ${r.ok} requests`,
    `latency ms: mean ${f(l.mean)} | p50 ${f(l.p50)} | p95 ${f(l.p95)} | p99 ${f(l.p99)} | max ${f(l.max)}`,
    `throughput: ${f(r.throughput, 0)} req/s total`,
    ...Object.entries(r.perReplica).map(([url, p]) => `  ${url}: ${p.requests} requests, ${f(p.throughput, 0)} req/s`),
    `errors: ${Object.keys(r.errors).length === 0 ? 'none' : Object.entries(r.errors).map(([k, v]) => `${k}=${v}`).join(' ')}`,
  ];
  if (r.verify) {
    lines.push(r.verify.violations === 0 ? 'verify: all 4 properties hold' : `verify: ${r.verify.violations} violations`);
    for (const e of r.verify.examples) lines.push(`  ${e}`);
  }
  return lines.join('\n') + '\n';
}

export async function runBenchCommand(options: BenchOptions & { json?: string }, logger: Logger): Promise<number> {
  const total = options.workers * options.requests;
  const bar = new ProgressBar(total, 'messenger-bench');
  logger.info({ urls: options.urls, workers: options.workers, requests: options.requests }, `sending ${total} messages to ${options.urls.length} replica(s)`);
  const result = await runBench({ ...options, onProgress: (n) => bar.update(n) });
  bar.finish();
  process.stdout.write(formatBenchResult(result));
  if (options.json) await writeFile(options.json, JSON.stringify(result, null, 2) + '\n');
  if (result.failed > 0) return EXIT_FAILED;
  if (result.verify && result.verify.violations > 0) return EXIT_ORDERING_VIOLATION;
  return EXIT_OK;
}
