import { readFileSync } from 'node:fs';
import type { ExperimentCheck } from '../core/experiment-report.js';
import { histogram, percentile } from '../core/latency-stats.js';
import type { ClientStats } from './client.js';
import { elapsedMs, logLineParser, type LogEntry, type Markers } from './log-format.js';

/** Slack over the longest answer delay for a busy event loop (the timers fire late, never early). */
export const DELAY_TOLERANCE_MS = 250;
/** The ignore share may stray this many standard deviations from --ignore-probability. */
const RATIO_SIGMAS = 4;
/** The keepalive period as seen by a client may be off by this share (or 20 ms, whichever is more). */
const PERIOD_TOLERANCE = 0.1;
const RTT_BUCKETS_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2000, 5000];

export interface RunInput {
  serverLog: string;
  clientLogs: string[];
  /** One per client (undefined when its stats file is missing). */
  clientStats: (ClientStats | undefined)[];
  markers: Markers;
  ignoreProbability: number;
  /** Scaled. */
  delayMinMs: number;
  delayMaxMs: number;
  keepalivePeriodMs: number;
}

export interface RunAnalysis {
  checks: ExperimentCheck[];
  headline: Record<string, number>;
  series: Record<string, { x: number | string; y: number }[]>;
}

interface ParsedLog {
  file: string;
  entries: LogEntry[];
  invalid: { line: number; text: string }[];
}

function readLog(file: string, parse: (text: string) => LogEntry | undefined): ParsedLog {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return { file, entries: [], invalid: [{ line: 0, text: '(file missing)' }] };
  }
  const entries: LogEntry[] = [];
  const invalid: ParsedLog['invalid'] = [];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((line, i) => {
    const entry = parse(line);
    if (entry) entries.push(entry);
    else invalid.push({ line: i + 1, text: line });
  });
  return { file, entries, invalid };
}

const check = (name: string, pass: boolean, detail: string): ExperimentCheck => ({ name, pass, detail });
const median = (values: number[]): number => percentile(Float64Array.from(values).sort(), 50);

/** Reads the logs of a finished run and checks the protocol's promises against them. */
export function analyzeRun(input: RunInput): RunAnalysis {
  const server = readLog(input.serverLog, logLineParser(input.markers, 'server'));
  const clients = input.clientLogs.map((file) => readLog(file, logLineParser(input.markers, 'client')));
  const checks: ExperimentCheck[] = [];

  // 1. Every line is in the exercise's format.
  const invalid = [server, ...clients].flatMap((log) => log.invalid.map((bad) => `${log.file}:${bad.line}: ${bad.text.slice(0, 80)}`));
  checks.push(check('log format valid', invalid.length === 0, invalid.length === 0 ? `${[server, ...clients].reduce((s, l) => s + l.entries.length, 0)} lines parsed` : `${invalid.length} bad line(s), first: ${invalid[0]}`));

  // 2. Every request a client sent has exactly one line (answered or timeout), n from 0 without gaps.
  const requestProblems: string[] = [];
  clients.forEach((log, i) => {
    const ns = log.entries.filter((e) => e.kind === 'answered' || e.kind === 'timeout').map((e) => (e as { n: number }).n);
    const seen = new Set(ns);
    if (seen.size !== ns.length) requestProblems.push(`client${i + 1}: a request logged twice`);
    for (let n = 0; n < seen.size; n++) if (!seen.has(n)) requestProblems.push(`client${i + 1}: request ${n} missing`);
  });
  checks.push(check('every request logged once', requestProblems.length === 0, requestProblems.slice(0, 3).join('; ') || 'n runs 0, 1, 2 ... per client'));

  // 3. The counter: PONG numbers unique, keepalive numbers distinct from them, the union 0..max with no gap.
  const serverPongs = new Map<number, Extract<LogEntry, { kind: 'answered' }>>();
  let duplicateK = 0;
  for (const e of server.entries) {
    if (e.kind !== 'answered') continue;
    if (serverPongs.has(e.k)) duplicateK++;
    else serverPongs.set(e.k, e);
  }
  const keepaliveKs = new Set<number>();
  for (const log of clients) for (const e of log.entries) if (e.kind === 'keepalive') keepaliveKs.add(e.k);
  const clash = [...keepaliveKs].filter((k) => serverPongs.has(k));
  const all = new Set([...serverPongs.keys(), ...keepaliveKs]);
  let maxK = -1;
  for (const k of all) if (k > maxK) maxK = k;
  const gaps: number[] = [];
  for (let k = 0; k <= maxK && gaps.length < 5; k++) if (!all.has(k)) gaps.push(k);
  checks.push(
    check(
      'counter gap-free',
      duplicateK === 0 && clash.length === 0 && gaps.length === 0,
      gaps.length ? `missing k: ${gaps.join(', ')}` : duplicateK ? `${duplicateK} PONG number(s) used twice` : clash.length ? `k ${clash[0]} is both a PONG and a keepalive` : `k = 0..${maxK}, ${serverPongs.size} PONGs + ${keepaliveKs.size} keepalives`,
    ),
  );

  // 4. Counter order: k grows in the order lines were written (server) and read (each client).
  const orderProblems: string[] = [];
  const increasing = (ks: number[], who: string) => {
    for (let i = 1; i < ks.length; i++) if (ks[i]! <= ks[i - 1]!) return void orderProblems.push(`${who}: k ${ks[i]} after ${ks[i - 1]}`);
  };
  increasing(server.entries.filter((e) => e.kind === 'answered').map((e) => (e as { k: number }).k), 'server.log');
  clients.forEach((log, i) => increasing(log.entries.filter((e) => e.kind === 'answered' || e.kind === 'keepalive').map((e) => (e as { k: number }).k), `client${i + 1}.log`));
  checks.push(check('counter order', orderProblems.length === 0, orderProblems[0] ?? 'k increases in every log'));

  // 5. Pairing: each answer a client logged is for the request on its line, and the server sent exactly it.
  const pairingProblems: string[] = [];
  let clientAnswered = 0;
  clients.forEach((log, i) => {
    for (const e of log.entries) {
      if (e.kind !== 'answered') continue;
      clientAnswered++;
      const sent = serverPongs.get(e.k);
      if (e.answerN !== e.n) pairingProblems.push(`client${i + 1}: [${e.n}] PING paired with [${e.k}/${e.answerN}]`);
      else if (!sent || sent.n !== e.n || sent.id !== e.id) pairingProblems.push(`client${i + 1}: [${e.k}/${e.n}] PONG (${e.id}) not in server.log`);
    }
  });
  checks.push(check('pairing correct', pairingProblems.length === 0, pairingProblems[0] ?? `${clientAnswered} answers, each paired with its own request`));

  // 6. The ignore share is what --ignore-probability says, within binomial noise.
  const ignored = server.entries.filter((e) => e.kind === 'ignored').length;
  const serverRequests = ignored + serverPongs.size + duplicateK;
  const p = input.ignoreProbability;
  const share = serverRequests ? ignored / serverRequests : 0;
  const allowed = RATIO_SIGMAS * Math.sqrt((p * (1 - p)) / Math.max(serverRequests, 1)) + 0.5 / Math.max(serverRequests, 1);
  checks.push(
    check(
      'ignore ratio plausible',
      serverRequests > 0 && Math.abs(share - p) <= allowed,
      `${ignored}/${serverRequests} = ${(share * 100).toFixed(1)}% (expected ${(p * 100).toFixed(1)}% ± ${(allowed * 100).toFixed(1)}%)`,
    ),
  );

  // 7. Answer delays within the range (the log's millisecond truncation allows 1 ms either way).
  const delays = [...serverPongs.values()].map((e) => elapsedMs(e.requestMs, e.responseMs));
  const tooEarly = delays.filter((d) => d < input.delayMinMs - 1).length;
  const tooLate = delays.filter((d) => d > input.delayMaxMs + DELAY_TOLERANCE_MS).length;
  checks.push(
    check(
      'answer delays in range',
      tooEarly === 0 && tooLate === 0,
      delays.length
        ? `${delays.reduce((a, b) => Math.min(a, b))}..${delays.reduce((a, b) => Math.max(a, b))} ms for [${input.delayMinMs}, ${input.delayMaxMs}] ms${tooEarly + tooLate ? `: ${tooEarly} early, ${tooLate} late` : ''}`
        : 'no answers',
    ),
  );

  // 8. Every timeout is explained: ignored by the server, never read (sent while it shut down), or answered late.
  const timeouts = clients.reduce((s, log) => s + log.entries.filter((e) => e.kind === 'timeout').length, 0);
  const clientRequests = clientAnswered + timeouts;
  const unread = clientRequests - serverRequests;
  const haveStats = input.clientStats.every((s) => s !== undefined);
  const late = input.clientStats.reduce((s, st) => s + (st?.late ?? 0), 0);
  checks.push(
    check(
      'timeouts accounted for',
      unread >= 0 && (!haveStats || timeouts === ignored + unread + late),
      `${timeouts} timeouts = ${ignored} ignored + ${unread} unread at shutdown + ${haveStats ? late : '?'} late`,
    ),
  );

  // 9. Keepalives arrive one period apart.
  const gapsMs: number[] = [];
  for (const log of clients) {
    const ka = log.entries.filter((e) => e.kind === 'keepalive') as Extract<LogEntry, { kind: 'keepalive' }>[];
    for (let i = 1; i < ka.length; i++) gapsMs.push(elapsedMs(ka[i - 1]!.responseMs, ka[i]!.responseMs));
  }
  const period = input.keepalivePeriodMs;
  if (gapsMs.length === 0) checks.push(check('keepalive period', true, 'not measured: fewer than two keepalives per client'));
  else {
    const m = median(gapsMs);
    checks.push(check('keepalive period', Math.abs(m - period) <= Math.max(PERIOD_TOLERANCE * period, 20), `median gap ${m} ms for a period of ${period} ms`));
  }

  const rtts = clients.flatMap((log) => log.entries.filter((e) => e.kind === 'answered').map((e) => elapsedMs((e as { requestMs: number }).requestMs, (e as { responseMs: number }).responseMs)));
  const sortedRtts = Float64Array.from(rtts).sort();
  const stats = input.clientStats.filter((s): s is ClientStats => s !== undefined);
  return {
    checks,
    headline: {
      clients: clients.length,
      requests: clientRequests,
      answered: clientAnswered,
      ignored,
      timeouts,
      late,
      keepalives: keepaliveKs.size,
      counter_max: maxK,
      rtt_p50_ms: percentile(sortedRtts, 50),
      rtt_p99_ms: percentile(sortedRtts, 99),
      reconnects: stats.reduce((s, st) => s + st.reconnects, 0),
    },
    series: {
      rtt_ms: histogram(rtts, RTT_BUCKETS_MS).map((b) => ({ x: b.le === null ? `>${RTT_BUCKETS_MS.at(-1)}` : `<=${b.le}`, y: b.count })),
      answer_delay_ms: histogram(delays, [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000].map((d) => (d * input.delayMaxMs) / 1000)).map((b) => ({
        x: b.le === null ? 'above' : `<=${Math.round(b.le)}`,
        y: b.count,
      })),
    },
  };
}
