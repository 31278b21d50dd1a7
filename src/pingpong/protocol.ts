/**
 * The ping-pong wire protocol: newline-terminated ASCII lines.
 *   client -> server  `[n] PING`          n counts from 0 per client
 *   server -> client  `[k/n] PONG (id)`   k: server-wide counter, n: the request's, id: the client's number
 *   server -> client  `[k] keepalive`     one k per broadcast
 * Parsers take one line (terminator already removed) and return a typed message; they never
 * touch a socket.
 */

/** The exercise's numbers; every one is a flag, and `--time-scale` multiplies the durations. */
export const DEFAULT_PORT = 7070;
/** Client: pause between consecutive PINGs, uniform in [min, max]. */
export const PING_INTERVAL_MIN_MS = 300;
export const PING_INTERVAL_MAX_MS = 3000;
/** Server: share of requests left unanswered. */
export const IGNORE_PROBABILITY = 0.1;
/** Server: wait before a PONG, uniform in [min, max]. */
export const ANSWER_DELAY_MIN_MS = 100;
export const ANSWER_DELAY_MAX_MS = 1000;
/** Server: period of the keepalive broadcast. */
export const KEEPALIVE_PERIOD_MS = 5000;
/** Client: how long a request waits for its PONG before it is a timeout. */
export const REQUEST_TIMEOUT_MS = 2000;

/** Digits we accept in a counter: enough for 2^53 and short enough to stay exact. */
const COUNTER = '(0|[1-9]\\d{0,15})';
const PING_RE = new RegExp(`^\\[(\\d{1,16})\\] PING$`);
const PONG_RE = new RegExp(`^\\[${COUNTER}/(\\d{1,16})\\] PONG \\(${COUNTER}\\)$`);
const KEEPALIVE_RE = new RegExp(`^\\[${COUNTER}\\] keepalive$`);

export type ClientMessage =
  /** `n` is the request number; `nText` its digits exactly as sent (the PONG echoes them). */
  | { type: 'ping'; n: number; nText: string; text: string }
  | { type: 'bad'; text: string; reason: BadLineReason };

export type ServerMessage =
  | { type: 'pong'; k: number; n: number; id: number; text: string }
  | { type: 'keepalive'; k: number; text: string }
  | { type: 'bad'; text: string; reason: BadLineReason };

export const BAD_LINE_REASONS = ['malformed', 'too_long', 'not_ascii'] as const;
export type BadLineReason = (typeof BAD_LINE_REASONS)[number];

const NON_ASCII = /[^\x20-\x7e\t]/;

/**
 * Surrounding blanks are forgiven (the exercise's programs strip lines, and telnet users type
 * them); anything else that is not exactly the message is malformed.
 */
function clean(line: string): { text: string; reason?: BadLineReason } {
  const text = line.trim();
  if (NON_ASCII.test(text)) return { text, reason: 'not_ascii' };
  return { text };
}

export function parseClientLine(line: string): ClientMessage {
  const { text, reason } = clean(line);
  if (reason) return { type: 'bad', text, reason };
  const m = PING_RE.exec(text);
  if (!m) return { type: 'bad', text, reason: 'malformed' };
  return { type: 'ping', n: Number(m[1]), nText: m[1]!, text };
}

export function parseServerLine(line: string): ServerMessage {
  const { text, reason } = clean(line);
  if (reason) return { type: 'bad', text, reason };
  let m = PONG_RE.exec(text);
  if (m) return { type: 'pong', k: Number(m[1]), n: Number(m[2]), id: Number(m[3]), text };
  m = KEEPALIVE_RE.exec(text);
  if (m) return { type: 'keepalive', k: Number(m[1]), text };
  return { type: 'bad', text, reason: 'malformed' };
}

export const pingText = (n: number): string => `[${n}] PING`;
export const pongText = (k: number, nText: string | number, id: number): string => `[${k}/${nText}] PONG (${id})`;
export const keepaliveText = (k: number): string => `[${k}] keepalive`;
