/**
 * An absolute tick schedule: tick k is due at start + k * period, so lateness of one tick never
 * shifts the next (a loop that sleeps one period per tick drifts by its own overhead every tick).
 * `TickSchedule` is pure arithmetic on µs; `runSchedule` drives it with timers.
 */

/**
 * After a stall (a busy CPU, GC) the missed ticks are sent at once, so the count stays exact; a
 * stall longer than this (a suspended process) skips the older ones instead of bursting them all.
 */
export const MAX_CATCH_UP_US = 1_000_000;
/** Timers wake up to ~1 ms late; the last stretch before a tick is spun on the event loop instead. */
export const DEFAULT_SPIN_US = 1000;
/** Spinning never takes more than this share of the period (so 1000/s does not burn a whole core). */
export const MAX_SPIN_SHARE = 0.1;

export interface DueTick {
  seq: number;
  /** When the tick was due, µs. */
  dueUs: number;
}

export class TickSchedule {
  /** Next tick index not yet taken. */
  private next = 0;
  /** Ticks skipped because the process stalled for longer than MAX_CATCH_UP_US. */
  skipped = 0;
  /** Most ticks one take() returns. */
  readonly maxCatchUp: number;

  constructor(
    readonly startUs: number,
    readonly periodUs: number,
  ) {
    if (!(periodUs > 0)) throw new RangeError('period must be positive');
    this.maxCatchUp = Math.max(1, Math.floor(MAX_CATCH_UP_US / periodUs));
  }

  dueAt(seq: number): number {
    return this.startUs + Math.round(seq * this.periodUs);
  }

  /** When the next tick is due, µs. */
  get nextDueUs(): number {
    return this.dueAt(this.next);
  }

  /** Ticks taken or skipped so far (the next seq). */
  get position(): number {
    return this.next;
  }

  /** The ticks due at `nowUs`, oldest first; after a long stall only the newest `maxCatchUp`. */
  take(nowUs: number): DueTick[] {
    if (nowUs < this.nextDueUs) return [];
    const last = Math.floor((nowUs - this.startUs) / this.periodUs);
    const first = Math.max(this.next, last - this.maxCatchUp + 1);
    this.skipped += first - this.next;
    const due: DueTick[] = [];
    for (let seq = first; seq <= last; seq++) due.push({ seq, dueUs: this.dueAt(seq) });
    this.next = last + 1;
    return due;
  }
}

export interface ScheduleRunner {
  stop(): void;
}

/**
 * Runs `onTick` for every due tick until stopped: a timer sleeps until shortly before the tick,
 * then setImmediate polls the clock for the last `spinUs` (I/O still runs in between, so received
 * ticks are not held up). `onTick` must not block; it gets the tick and the time it actually ran.
 */
export function runSchedule(
  schedule: TickSchedule,
  clock: () => number,
  onTick: (tick: DueTick, nowUs: number) => void,
  spinUs = DEFAULT_SPIN_US,
): ScheduleRunner {
  const spin = Math.min(spinUs, schedule.periodUs * MAX_SPIN_SHARE);
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined;
  const step = () => {
    timer = undefined;
    immediate = undefined;
    if (stopped) return;
    for (const tick of schedule.take(clock())) onTick(tick, clock());
    const waitUs = schedule.nextDueUs - clock();
    if (waitUs > spin) timer = setTimeout(step, Math.max(0, Math.floor((waitUs - spin) / 1000)));
    else immediate = setImmediate(step);
  };
  step();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (immediate) clearImmediate(immediate);
    },
  };
}

/** Ticks looked at when measuring drift: the last second's worth, at least this many. */
export const MIN_DRIFT_WINDOW_TICKS = 10;

/**
 * Measures schedule drift from the outside: how many ticks were produced against how many the wall
 * clock calls for. position = (t - t_first) / period - (ticks produced before this one) stays
 * constant on an absolute schedule, apart from each tick's own lateness, and grows with every tick
 * on a loop that sleeps one period per tick. Lateness is not drift, so the meter compares the
 * best-kept (least late) tick of the first window with that of the last one. Negative: fewer ticks
 * than the clock calls for (a drifting loop, or skipped ticks).
 */
export class DriftMeter {
  private firstUs: number | undefined;
  private produced = 0;
  private firstWindowMin = Infinity;
  private readonly recent: number[];
  private next = 0;

  constructor(
    private readonly periodUs: number,
    private readonly windowTicks = Math.max(MIN_DRIFT_WINDOW_TICKS, Math.round(1e6 / periodUs)),
  ) {
    this.recent = new Array<number>(windowTicks).fill(Infinity);
  }

  /** One tick produced (sent or not) at `tUs`. */
  record(tUs: number): void {
    this.firstUs ??= tUs;
    const position = (tUs - this.firstUs) / this.periodUs - this.produced;
    this.produced++;
    if (this.produced <= this.windowTicks) this.firstWindowMin = Math.min(this.firstWindowMin, position);
    this.recent[this.next] = position;
    this.next = (this.next + 1) % this.recent.length;
  }

  get ticks(): number {
    return this.produced;
  }

  /** Ticks produced minus ticks due, between the best-kept ticks of the first and last windows (0 before any tick). */
  driftTicks(): number {
    if (this.produced === 0) return 0;
    return -(Math.min(...this.recent) - this.firstWindowMin);
  }
}
