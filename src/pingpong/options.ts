import { OptionError } from '../core/errors.js';
import { opt } from '../core/options.js';
import { MARKER_SETS, MARKER_SET_NAMES, type MarkerSetName } from './log-format.js';
import {
  ANSWER_DELAY_MAX_MS,
  ANSWER_DELAY_MIN_MS,
  DEFAULT_PORT,
  IGNORE_PROBABILITY,
  KEEPALIVE_PERIOD_MS,
  PING_INTERVAL_MAX_MS,
  PING_INTERVAL_MIN_MS,
  REQUEST_TIMEOUT_MS,
} from './protocol.js';
import { MAX_BAD_LINES, MAX_PENDING_ANSWERS, type ServerSettings } from './server-core.js';
import { MAX_THREADS } from './shared-state.js';

/**
 * Flags shared by the three roles, so the orchestrator passes exactly the same ones on to the
 * processes it starts. Names with a common env twin (PORT, HOST, LOG, SEED) get a PINGPONG_ prefix
 * so a shell's HOST or another role's PORT is never picked up by accident.
 */

/** Most bytes queued on one connection before the server drops it as a client that stopped reading. */
export const MAX_WRITE_BUFFER_BYTES = 16 * 1024;

export const commonPingPongOptions = {
  seed: { ...opt.optionalInt('seed of the random numbers (delays, ignores, intervals); unset = random, logged', 0, 2 ** 32 - 1), env: 'PINGPONG_SEED' },
  timeScale: opt.number('multiplies every duration (intervals, delays, keepalive period, timeout, backoff, --duration): 0.01 runs minutes in seconds', 1, 0.0001, 1000),
  markers: opt.choice('log markers of unanswered requests: ru = (проигнорировано) (таймаут), en = (ignored) (timeout)', MARKER_SET_NAMES, 'ru'),
};

export const serverBehaviourOptions = {
  ignoreProbability: opt.number('share of requests the server leaves unanswered', IGNORE_PROBABILITY, 0, 1),
  delayMin: opt.duration('least wait before a PONG', `${ANSWER_DELAY_MIN_MS}ms`, 'ms'),
  delayMax: opt.duration('most wait before a PONG', `${ANSWER_DELAY_MAX_MS}ms`, 'ms'),
  keepalivePeriod: opt.duration('period of the keepalive broadcast', `${KEEPALIVE_PERIOD_MS / 1000}s`, 'ms', 1),
  maxBadLines: opt.int('bad lines a connection may send before it is closed', MAX_BAD_LINES, 0, 1_000_000),
  maxWriteBuffer: opt.int('bytes queued for one client before it counts as not reading and is dropped', MAX_WRITE_BUFFER_BYTES, 64, 1 << 30),
  maxPendingAnswers: opt.int('answers one client may have waiting before its connection is no longer read for a while', MAX_PENDING_ANSWERS, 2, 1_000_000),
  threads: opt.int('threads holding the connections, each listening on the port (SO_REUSEPORT); client numbers and the counter stay server-wide. 1 = one event loop', 1, 1, MAX_THREADS),
};

export const clientBehaviourOptions = {
  intervalMin: opt.duration('least pause between two PINGs', `${PING_INTERVAL_MIN_MS}ms`, 'ms'),
  intervalMax: opt.duration('most pause between two PINGs', `${PING_INTERVAL_MAX_MS}ms`, 'ms'),
  timeout: opt.duration('how long a request waits for its PONG', `${REQUEST_TIMEOUT_MS}ms`, 'ms', 1),
};

export const serverOptions = {
  port: { ...opt.port('TCP port to listen on (0 = any free port)', DEFAULT_PORT), env: 'PINGPONG_PORT' },
  host: { ...opt.string('address to bind', '0.0.0.0'), env: 'PINGPONG_HOST' },
  log: { ...opt.string("the server's event log; '' writes none", 'server.log'), env: 'PINGPONG_LOG' },
  quiet: opt.switch('do not print the "Client N connected" console lines'),
  ...commonPingPongOptions,
  ...serverBehaviourOptions,
};

export const clientOptions = {
  host: { ...opt.string('server address', '127.0.0.1'), env: 'PINGPONG_HOST' },
  port: { ...opt.port('server port', DEFAULT_PORT), env: 'PINGPONG_PORT' },
  log: { ...opt.string("the client's event log; '' writes none; with --connections above 1 it must contain {i}", 'client.log'), env: 'PINGPONG_LOG' },
  connections: opt.int('independent clients in this process (a load generator); each has its own counter', 1, 1, 100_000),
  duration: opt.duration('stop after this long (times --time-scale); 0 = run until stopped', '0', 's'),
  requests: opt.int('stop after this many requests per connection; 0 = no limit', 0, 0),
  stats: opt.optionalString('write counts, round trips and keepalive arrival times as JSON to this file on exit', 'file'),
  ...commonPingPongOptions,
  ...clientBehaviourOptions,
};

/** The server flags its protocol behaviour comes from. */
export interface ServerBehaviourOptions {
  timeScale: number;
  markers: MarkerSetName;
  ignoreProbability: number;
  delayMin: number;
  delayMax: number;
  keepalivePeriod: number;
  maxBadLines: number;
  maxPendingAnswers: number;
}

/** The server's protocol settings from its flags, durations multiplied by --time-scale. */
export function serverSettings(options: ServerBehaviourOptions): ServerSettings {
  const scale = options.timeScale;
  return {
    ignoreProbability: options.ignoreProbability,
    answerDelayMinMs: options.delayMin * scale,
    answerDelayMaxMs: options.delayMax * scale,
    keepalivePeriodMs: options.keepalivePeriod * scale,
    maxBadLines: options.maxBadLines,
    maxPendingAnswers: options.maxPendingAnswers,
    markers: MARKER_SETS[options.markers],
  };
}

export function checkRange(what: string, min: number, max: number): void {
  if (min > max) throw new OptionError(`--${what}-min (${min} ms) must not exceed --${what}-max (${max} ms)`);
}
