import type { Clock } from './clock.js';
import type { LineEvent } from './line-decoder.js';
import type { EventLog } from './log-file.js';
import { clientAnsweredLine, clientKeepaliveLine, clientTimeoutLine, type Markers } from './log-format.js';
import { parseServerLine, pingText, type BadLineReason } from './protocol.js';

/**
 * Request numbers remembered after their timeout, so a PONG for one is known as late rather than
 * unexpected. A PONG later than this many newer timeouts is called unexpected; no real server is that late.
 */
export const MAX_REMEMBERED_TIMEOUTS = 1024;

export interface ClientSettings {
  /** Already multiplied by --time-scale. */
  timeoutMs: number;
  markers: Markers;
}

export interface ClientObserver {
  sent?(n: number): void;
  answered?(n: number, rttMs: number): void;
  timeout?(n: number): void;
  late?(n: number, text: string, lateByMs: number): void;
  keepalive?(k: number, atMs: number): void;
  badLine?(reason: BadLineReason | 'unexpected', text: string): void;
}

interface PendingRequest {
  text: string;
  sentAtMs: number;
  timer: NodeJS.Timeout;
}

/**
 * A client's protocol state: its request counter (kept across reconnects), the requests waiting
 * for an answer, and the client log. A PONG is paired with its request by n, never by arrival
 * order, so answers that come back out of order (each is delayed independently) land on the right
 * request. A request not answered within the timeout is logged as a timeout at that moment; its
 * PONG, if it comes later (by the clock, whichever callback runs first), is counted as late and not paired.
 */
export class PingPongClientCore {
  private nextN = 0;
  private readonly pending = new Map<number, PendingRequest>();
  private readonly timedOut = new Map<number, number>();
  private settleWaiters: (() => void)[] = [];

  constructor(
    private readonly settings: ClientSettings,
    private readonly log: EventLog,
    private readonly observer: ClientObserver = {},
    private readonly clock: Clock = Date.now,
  ) {}

  /** Requests sent so far (the next n). */
  get sent(): number {
    return this.nextN;
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** Starts the next request: returns its line (without newline) and starts its timeout. */
  begin(): string {
    const n = this.nextN++;
    const text = pingText(n);
    const sentAtMs = this.clock();
    const timer = setTimeout(() => this.expire(n), this.settings.timeoutMs);
    this.pending.set(n, { text, sentAtMs, timer });
    this.observer.sent?.(n);
    return text;
  }

  receive(event: LineEvent): void {
    const atMs = this.clock();
    if (event.kind === 'too-long') return this.observer.badLine?.('too_long', `(${event.bytes} bytes)`);
    const message = parseServerLine(event.text);
    switch (message.type) {
      case 'bad':
        return this.observer.badLine?.(message.reason, message.text);
      case 'keepalive':
        if (!this.log.discards) this.log.append(clientKeepaliveLine(new Date(atMs), message.text));
        return this.observer.keepalive?.(message.k, atMs);
      case 'pong': {
        const request = this.pending.get(message.n);
        if (request) clearTimeout(request.timer);
        // Past its deadline by the clock, the request timed out even if its timer has not run yet: on a
        // busy machine the event loop can read the answer before it runs the due timer.
        if (request && atMs - request.sentAtMs > this.settings.timeoutMs) {
          this.expire(message.n, request.sentAtMs + this.settings.timeoutMs);
        } else if (request) {
          this.pending.delete(message.n);
          if (!this.log.discards) this.log.append(clientAnsweredLine(new Date(request.sentAtMs), request.text, new Date(atMs), message.text));
          this.observer.answered?.(message.n, atMs - request.sentAtMs);
          this.settledCheck();
          return;
        }
        const expiredAt = this.timedOut.get(message.n);
        if (expiredAt !== undefined) {
          this.timedOut.delete(message.n);
          return this.observer.late?.(message.n, message.text, atMs - expiredAt);
        }
        return this.observer.badLine?.('unexpected', message.text);
      }
    }
  }

  private expire(n: number, atMs = this.clock()): void {
    const request = this.pending.get(n);
    if (!request) return;
    this.pending.delete(n);
    this.timedOut.set(n, atMs);
    if (this.timedOut.size > MAX_REMEMBERED_TIMEOUTS) this.timedOut.delete(this.timedOut.keys().next().value!);
    if (!this.log.discards) this.log.append(clientTimeoutLine(new Date(request.sentAtMs), request.text, this.settings.markers));
    this.observer.timeout?.(n);
    this.settledCheck();
  }

  /** Resolves when every request sent so far is answered or timed out (each has its line in the log). */
  whenSettled(): Promise<void> {
    if (this.pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.settleWaiters.push(resolve));
  }

  /** Times out every waiting request now (a shutdown whose grace period ran out). */
  expireAll(): void {
    for (const n of [...this.pending.keys()]) {
      clearTimeout(this.pending.get(n)!.timer);
      this.expire(n);
    }
  }

  private settledCheck(): void {
    if (this.pending.size > 0) return;
    const waiters = this.settleWaiters;
    this.settleWaiters = [];
    for (const wake of waiters) wake();
  }
}
