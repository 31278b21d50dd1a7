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

export type DecodeResult = { ok: true; tick: Tick } | { ok: false; error: string };

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Parses and validates one tick; never throws, so a stray message on the bus cannot crash an app. */
export function decodeTick(bytes: Uint8Array): DecodeResult {
  if (bytes.byteLength > MAX_TICK_BYTES) return { ok: false, error: `message of ${bytes.byteLength} bytes is larger than ${MAX_TICK_BYTES}` };
  let body: unknown;
  try {
    body = JSON.parse(textDecoder.decode(bytes));
  } catch {
    return { ok: false, error: 'not JSON' };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { ok: false, error: 'not a JSON object' };
  const b = body as Record<string, unknown>;
  if (typeof b.src !== 'string' || b.src === '') return { ok: false, error: 'src must be a non-empty string' };
  if (!isCount(b.seq)) return { ok: false, error: 'seq must be a whole number >= 0' };
  if (!isTime(b.t)) return { ok: false, error: 't must be a number (unix seconds)' };
  const tick: Tick = { src: b.src, seq: b.seq, tUs: Math.round(b.t * 1e6) };
  if (b.boot !== undefined) {
    if (typeof b.boot !== 'string') return { ok: false, error: 'boot must be a string' };
    tick.boot = b.boot;
  }
  if (b.echo_seq !== undefined || b.echo_t !== undefined || b.echo_age_us !== undefined) {
    if (!isCount(b.echo_seq) || !isTime(b.echo_t) || !isCount(b.echo_age_us)) {
      return { ok: false, error: 'echo_seq, echo_t and echo_age_us must come together as numbers' };
    }
    tick.echo = { seq: b.echo_seq, tUs: Math.round(b.echo_t * 1e6), ageUs: b.echo_age_us };
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
