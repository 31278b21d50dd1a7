/**
 * Decides whether a decoded tick may count as the peer's: judged against the receiver's clock and
 * the stream it follows. Pure: feed it ticks and receive times, read the verdicts. A rejected tick
 * never reaches the SeqTracker or the dt/RTT figures, so it can neither poison them nor count as
 * received or lost.
 *
 * The rules, each a reason of `netlab_tick_rejected_total`:
 * - `wrong-source`: src is not the peer's name.
 * - `bad-time`: t is more than MAX_TICK_SKEW_US from the receiver's clock, either way.
 * - `bad-echo`: the echo claims a hold time over MAX_ECHO_AGE_US (a sender never echoes older), or
 *   echoes a time of ours that is in our future or more than MAX_TICK_SKEW_US in our past.
 * - `unknown-boot`: a boot id other than the stream's while the stream is still alive (heard within
 *   bootQuietUs): two processes cannot both be the peer. A real restart is accepted once the old
 *   boot has gone quiet.
 * - `bad-seq`: seq leaps further ahead than the time since the last accepted tick allows (it would
 *   count as thousands lost).
 */
import { MAX_ECHO_AGE_US, TickRejectReason, type Tick } from './protocol.js';

/** A tick's t may be this far from the receiver's clock (clock offset plus delay); beyond it is not a tick of now. */
export const MAX_TICK_SKEW_US = 300_000_000;
/** A new boot id is taken for a restart only once the current one has been silent this long... */
export const BOOT_QUIET_MIN_US = 500_000;
/** ...or this many of the peer's periods, if longer (a slow peer). */
export const BOOT_QUIET_PERIODS = 3;
/** The shortest period a peer can have (--rate at most 10,000/s); the period assumed until one is measured. */
export const MIN_PEER_PERIOD_US = 100;
/** seq may run ahead of what the elapsed time explains by this many ticks... */
export const SEQ_JUMP_SLACK = 1000;
/** ...and the elapsed time counts this many times over (a peer's clock and ours need not agree). */
export const SEQ_JUMP_FACTOR = 2;

interface Stream {
  boot: string | undefined;
  firstSeq: number;
  firstTUs: number;
  maxSeq: number;
  maxSeqTUs: number;
  lastAcceptedUs: number;
}

export class TickGate {
  private stream: Stream | undefined;

  constructor(private readonly peer: string) {}

  /** Undefined when `tick`, received at `nowUs`, counts (and is recorded); else why it does not. */
  admit(tick: Tick, nowUs: number): TickRejectReason | undefined {
    const reason = this.check(tick, nowUs);
    if (reason === undefined) this.record(tick, nowUs);
    return reason;
  }

  /** The peer's period as its own ticks tell it (t and seq of the stream), or MIN_PEER_PERIOD_US until known. */
  get peerPeriodUs(): number {
    const s = this.stream;
    if (!s || s.maxSeq <= s.firstSeq) return MIN_PEER_PERIOD_US;
    return Math.max(MIN_PEER_PERIOD_US, (s.maxSeqTUs - s.firstTUs) / (s.maxSeq - s.firstSeq));
  }

  /** How long the stream's boot must be silent before another boot id is taken for a restart. */
  get bootQuietUs(): number {
    return Math.max(BOOT_QUIET_MIN_US, BOOT_QUIET_PERIODS * this.peerPeriodUs);
  }

  private check(tick: Tick, nowUs: number): TickRejectReason | undefined {
    const R = TickRejectReason;
    if (tick.src !== this.peer) return R.WrongSource;
    if (Math.abs(tick.tUs - nowUs) > MAX_TICK_SKEW_US) return R.BadTime;
    if (tick.echo && (tick.echo.ageUs > MAX_ECHO_AGE_US || tick.echo.tUs > nowUs || nowUs - tick.echo.tUs > MAX_TICK_SKEW_US)) return R.BadEcho;
    const s = this.stream;
    if (!s) return undefined;
    const sinceUs = Math.max(0, nowUs - s.lastAcceptedUs);
    if (tick.boot !== s.boot) return sinceUs < this.bootQuietUs ? R.UnknownBoot : undefined;
    const allowed = SEQ_JUMP_SLACK + Math.ceil((SEQ_JUMP_FACTOR * sinceUs) / this.peerPeriodUs);
    if (tick.seq > s.maxSeq + allowed) return R.BadSeq;
    return undefined;
  }

  private record(tick: Tick, nowUs: number): void {
    const s = this.stream;
    if (!s || tick.boot !== s.boot) {
      this.stream = { boot: tick.boot, firstSeq: tick.seq, firstTUs: tick.tUs, maxSeq: tick.seq, maxSeqTUs: tick.tUs, lastAcceptedUs: nowUs };
      return;
    }
    s.lastAcceptedUs = nowUs;
    if (tick.seq > s.maxSeq) {
      s.maxSeq = tick.seq;
      s.maxSeqTUs = tick.tUs;
    }
  }
}
