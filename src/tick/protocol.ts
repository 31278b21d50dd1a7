/**
 * The tick message on the wire: JSON `{"src","seq","t"}` as the exercise asks, plus a boot id and
 * the echo of the last peer tick seen, so each side can compute the round trip without
 * synchronized clocks. Times travel as unix seconds with microseconds; inside netlab every time is
 * an integer count of microseconds since the epoch ("µs").
 */

export interface TickBody {
  /** Name of the sending app. */
  src: string;
  /** Index of the tick on the sender's schedule; starts at 0 on every process start. */
  seq: number;
  /** When the sender took its tick, unix seconds with microseconds. */
  t: number;
  /** Random id of the sender's process start: a new boot means a restart, whatever seq says. */
  boot?: string;
  /** seq of the last peer tick the sender saw. */
  echo_seq?: number;
  /** t of that peer tick, as the peer signed it (so it is in the peer's own clock). */
  echo_t?: number;
  /** How long ago the sender received that peer tick, in microseconds (the sender's hold time). */
  echo_age_us?: number;
}

/** A received tick, times converted to µs. */
export interface Tick {
  src: string;
  seq: number;
  tUs: number;
  boot?: string;
  echo?: { seq: number; tUs: number; ageUs: number };
}

/**
 * Why a message on the peer's key did not count as a peer tick. Every reason is a child of
 * `netlab_tick_rejected_total{reason}` from the start. decodeTick finds the first four; TickGate
 * (tick-gate.ts) the ones that need the receiver's clock and what it has seen; `handler-error` is
 * anything that threw while one message was handled.
 */
export const TickRejectReason = {
  TooLarge: 'too-large',
  NotJson: 'not-json',
  BadSchema: 'bad-schema',
  BadTime: 'bad-time',
  BadEcho: 'bad-echo',
  WrongSource: 'wrong-source',
  UnknownBoot: 'unknown-boot',
  BadSeq: 'bad-seq',
  HandlerError: 'handler-error',
} as const;
export type TickRejectReason = (typeof TickRejectReason)[keyof typeof TickRejectReason];
export const TICK_REJECT_REASONS = Object.values(TickRejectReason);

/** A sender echoes a peer tick only while it is younger than this (older, the peer has gone, an RTT from it would mislead). */
export const MAX_ECHO_AGE_US = 1_000_000;

/** Ticks are tiny; anything bigger is not ours and is dropped unparsed. */
export const MAX_TICK_BYTES = 1024;
/** App names become subject tokens and routing keys: keep them to safe characters. */
export const NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

/** Wall-clock time in µs, with the sub-millisecond precision Date.now() lacks. */
export function nowUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

/** µs since the epoch → unix seconds with exactly six decimals, as a JSON number literal. */
export function formatUnixSeconds(us: number): string {
  const sign = us < 0 ? '-' : '';
  const abs = Math.abs(Math.round(us));
  return `${sign}${Math.floor(abs / 1e6)}.${String(abs % 1e6).padStart(6, '0')}`;
}

export function encodeTick(tick: Tick): Uint8Array {
  // Built by hand so t keeps exactly six decimals (JSON.stringify would print 1712345678.1 for .100000).
  let json = `{"src":${JSON.stringify(tick.src)},"seq":${tick.seq},"t":${formatUnixSeconds(tick.tUs)}`;
  if (tick.boot !== undefined) json += `,"boot":${JSON.stringify(tick.boot)}`;
  if (tick.echo) json += `,"echo_seq":${tick.echo.seq},"echo_t":${formatUnixSeconds(tick.echo.tUs)},"echo_age_us":${Math.round(tick.echo.ageUs)}`;
  return textEncoder.encode(json + '}');
}

export type DecodeResult = { ok: true; tick: Tick } | { ok: false; reason: TickRejectReason; error: string };

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
/** Unix seconds → µs, or undefined when that is no exact integer (1e308 s is finite, its µs are not). */
const toUs = (seconds: number): number | undefined => {
  const us = Math.round(seconds * 1e6);
  return Number.isSafeInteger(us) ? us : undefined;
};
const fail = (reason: TickRejectReason, error: string): DecodeResult => ({ ok: false, reason, error });

/** Parses and validates one tick (its shape; TickGate judges it against the receiver's state); never throws, so a stray message on the bus cannot crash an app. */
export function decodeTick(bytes: Uint8Array): DecodeResult {
  const R = TickRejectReason;
  if (bytes.byteLength > MAX_TICK_BYTES) return fail(R.TooLarge, `message of ${bytes.byteLength} bytes is larger than ${MAX_TICK_BYTES}`);
  let body: unknown;
  try {
    body = JSON.parse(textDecoder.decode(bytes));
  } catch {
    return fail(R.NotJson, 'not JSON');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return fail(R.BadSchema, 'not a JSON object');
  const b = body as Record<string, unknown>;
  if (typeof b.src !== 'string' || b.src === '') return fail(R.BadSchema, 'src must be a non-empty string');
  if (!isCount(b.seq)) return fail(R.BadSchema, 'seq must be a whole number >= 0');
  if (!isTime(b.t)) return fail(R.BadSchema, 't must be a number (unix seconds)');
  const tUs = toUs(b.t);
  if (tUs === undefined) return fail(R.BadTime, `t ${b.t} is out of range`);
  const tick: Tick = { src: b.src, seq: b.seq, tUs };
  if (b.boot !== undefined) {
    if (typeof b.boot !== 'string') return fail(R.BadSchema, 'boot must be a string');
    tick.boot = b.boot;
  }
  if (b.echo_seq !== undefined || b.echo_t !== undefined || b.echo_age_us !== undefined) {
    if (!isCount(b.echo_seq) || !isTime(b.echo_t) || !isCount(b.echo_age_us)) {
      return fail(R.BadSchema, 'echo_seq, echo_t and echo_age_us must come together as numbers');
    }
    const echoTUs = toUs(b.echo_t);
    if (echoTUs === undefined) return fail(R.BadEcho, `echo_t ${b.echo_t} is out of range`);
    tick.echo = { seq: b.echo_seq, tUs: echoTUs, ageUs: b.echo_age_us };
  }
  return { ok: true, tick };
}

/** The exercise's line: `dt=0.003`, t_real - t_sign in seconds rounded to the millisecond. */
export function formatDt(dtUs: number): string {
  const ms = Math.round(dtUs / 1000);
  // Avoid "-0.000" for a tiny negative dt.
  return `dt=${(ms === 0 ? 0 : ms / 1000).toFixed(3)}`;
}

/** A random id for this process start. */
export function newBootId(): string {
  return Math.floor(Math.random() * 0x1_0000_0000).toString(16).padStart(8, '0');
}
