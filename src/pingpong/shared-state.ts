import type { BadLineReason } from './protocol.js';
import type { DropReason, RequestOutcome } from './server-core.js';

/**
 * What the threads of one `pingpong-server --threads N` share, in one SharedArrayBuffer: the client
 * numbers, the one server-wide counter k, the keepalive broadcast each period, the connected
 * count and the counters the main thread turns into metrics.
 *
 * k is taken under a lock that the taker holds while it queues the line on its socket and appends
 * it to server.log, so lines go out, and land in server.log, in the order of their numbers. A
 * keepalive gets its number once, from the first thread whose timer fires for that period; every
 * thread then sends that same number to its own clients, and sends it before any PONG numbered
 * after it (see PingPongServerCore), so each client still reads k increasing.
 */

// Int32 slots.
const LOCK = 0; // 0 free, 1 held, 2 held and someone waits
const NEXT_ID = 1;
const CONNECTED = 2;
const KEEPALIVE_SLOT = 3; // the newest keepalive period decided on (slots count from 1)
const INT32_SLOTS = 4;
// BigInt64 slots.
const COUNTER = 0;
const KEEPALIVE_K = 1; // the k of KEEPALIVE_SLOT's broadcast, or -1: skipped (nobody connected)
const STATS_BASE = 2;

/** Counters the threads add to and the main thread reads into the metrics registry. */
export const SHARED_STATS = [
  'requests:answered',
  'requests:ignored',
  'requests:abandoned',
  'bad_lines:malformed',
  'bad_lines:too_long',
  'bad_lines:not_ascii',
  'dropped:bad_lines',
  'dropped:slow_reader',
] as const;
export type SharedStat = (typeof SHARED_STATS)[number];
const statIndex = new Map<string, number>(SHARED_STATS.map((name, i) => [name, STATS_BASE + i]));
/** Per-thread gauges (heap bytes in use), one slot each, after the stats. */
const HEAP_BASE = STATS_BASE + SHARED_STATS.length;
/** Most threads a server may run. */
export const MAX_THREADS = 64;

const INT32_BYTES = Math.ceil((INT32_SLOTS * 4) / 8) * 8; // the BigInt64 view starts on 8 bytes

export class SharedServerState {
  private readonly i32: Int32Array;
  private readonly i64: BigInt64Array;

  /** A fresh state: client numbers from 1, k from 0, no keepalive yet. */
  static create(threads: number): SharedServerState {
    const buffer = new SharedArrayBuffer(INT32_BYTES + (HEAP_BASE + threads) * 8);
    const state = new SharedServerState(buffer);
    Atomics.store(state.i32, NEXT_ID, 1);
    Atomics.store(state.i64, KEEPALIVE_K, -1n);
    return state;
  }

  /** The same state seen from another thread (pass `buffer` in workerData). */
  constructor(readonly buffer: SharedArrayBuffer) {
    this.i32 = new Int32Array(buffer, 0, INT32_SLOTS);
    this.i64 = new BigInt64Array(buffer, INT32_BYTES);
  }

  get threads(): number {
    return this.i64.length - HEAP_BASE;
  }

  /** The next client number, in the order threads accept connections. */
  nextId(): number {
    return Atomics.add(this.i32, NEXT_ID, 1);
  }

  /** Connections accepted so far. */
  get connections(): number {
    return Atomics.load(this.i32, NEXT_ID) - 1;
  }

  addConnected(delta: number): void {
    Atomics.add(this.i32, CONNECTED, delta);
  }

  get connected(): number {
    return Atomics.load(this.i32, CONNECTED);
  }

  /** The next k to be sent (another thread may take it any moment). */
  get nextK(): number {
    return Number(Atomics.load(this.i64, COUNTER));
  }

  /**
   * A futex mutex (Drepper's "mutex 2"). Only worker threads take it: Atomics.wait would block the
   * main thread. Held for one socket write and one log append, so it is rarely contended.
   */
  lock(): void {
    let c = Atomics.compareExchange(this.i32, LOCK, 0, 1);
    if (c === 0) return;
    do {
      if (c === 2 || Atomics.compareExchange(this.i32, LOCK, 1, 2) !== 0) Atomics.wait(this.i32, LOCK, 2);
    } while ((c = Atomics.compareExchange(this.i32, LOCK, 0, 2)) !== 0);
  }

  unlock(): void {
    if (Atomics.sub(this.i32, LOCK, 1) !== 1) {
      Atomics.store(this.i32, LOCK, 0);
      Atomics.notify(this.i32, LOCK, 1);
    }
  }

  /** Takes the next k. Call with the lock held. */
  takeK(): number {
    return Number(Atomics.add(this.i64, COUNTER, 1n));
  }

  /** The newest keepalive decided on: its slot (0: none yet) and k (-1: skipped). Call with the lock held. */
  get keepaliveSlot(): number {
    return Atomics.load(this.i32, KEEPALIVE_SLOT);
  }

  get keepaliveK(): number {
    return Number(Atomics.load(this.i64, KEEPALIVE_K));
  }

  /**
   * Decides the keepalive of `slot` if no thread has yet (nor a later one): it takes a k when any
   * client is connected to any thread, and is skipped otherwise. Call with the lock held.
   */
  decideKeepalive(slot: number): void {
    if (Atomics.load(this.i32, KEEPALIVE_SLOT) >= slot) return;
    const k = Atomics.load(this.i32, CONNECTED) > 0 ? this.takeK() : -1;
    Atomics.store(this.i64, KEEPALIVE_K, BigInt(k));
    Atomics.store(this.i32, KEEPALIVE_SLOT, slot);
  }

  count(stat: SharedStat, n = 1): void {
    Atomics.add(this.i64, statIndex.get(stat)!, BigInt(n));
  }

  stat(stat: SharedStat): number {
    return Number(Atomics.load(this.i64, statIndex.get(stat)!));
  }

  setHeapUsed(thread: number, bytes: number): void {
    Atomics.store(this.i64, HEAP_BASE + thread, BigInt(Math.round(bytes)));
  }

  /** Heap in use summed over the threads (each reports its own now and then). */
  get heapUsed(): number {
    let sum = 0;
    for (let t = 0; t < this.threads; t++) sum += Number(Atomics.load(this.i64, HEAP_BASE + t));
    return sum;
  }
}

export const requestStat = (outcome: RequestOutcome): SharedStat => `requests:${outcome}`;
export const badLineStat = (reason: BadLineReason): SharedStat => `bad_lines:${reason}`;
export const droppedStat = (reason: DropReason): SharedStat => `dropped:${reason}`;
