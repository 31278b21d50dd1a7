import { uniform, type Random } from '../core/prng.js';
import type { LineEvent } from './line-decoder.js';
import type { EventLog } from './log-file.js';
import { serverAnsweredLine, serverIgnoredLine, type Markers } from './log-format.js';
import { keepaliveText, parseClientLine, pongText, type BadLineReason } from './protocol.js';
import type { SharedServerState } from './shared-state.js';

/** Bad lines one connection may send; the next one closes it (a peer speaking another protocol). */
export const MAX_BAD_LINES = 10;
/**
 * Answers one connection may have waiting at once. A client that floods requests is no longer
 * read (TCP pushes back on it) until half of them are out, so it cannot fill our memory with timers.
 * Far above what the protocol produces: a client sends at most ~10 requests per second.
 */
export const MAX_PENDING_ANSWERS = 1000;

/** Server behaviour, durations already multiplied by --time-scale. */
export interface ServerSettings {
  ignoreProbability: number;
  answerDelayMinMs: number;
  answerDelayMaxMs: number;
  keepalivePeriodMs: number;
  maxBadLines: number;
  maxPendingAnswers: number;
  markers: Markers;
}

/** What the protocol state needs of a connection; the transport implements it over a socket. */
export interface Peer {
  /**
   * May `bytes` more be queued? False when the peer is gone, or when its unread backlog is over
   * the limit, in which case the transport has just dropped it.
   */
  reserve(bytes: number): boolean;
  /** Queues bytes (a whole line with its newline). Call only after reserve said yes. */
  write(data: string | Buffer): void;
  pauseReading(): void;
  resumeReading(): void;
  close(reason: DropReason): void;
}

export const DROP_REASONS = ['bad_lines', 'slow_reader'] as const;
export type DropReason = (typeof DROP_REASONS)[number];
export type RequestOutcome = 'answered' | 'ignored' | 'abandoned';

/** Hooks for metrics and operator logs; the protocol itself does not need them. */
export interface ServerObserver {
  request?(session: ClientSession, outcome: RequestOutcome): void;
  badLine?(session: ClientSession, reason: BadLineReason, text: string): void;
  keepalive?(k: number, recipients: number, lagMs: number, broadcastMs: number): void;
}

/**
 * The server's random decision for one request: ignore it, or answer after a delay. Draws twice
 * from `random` only when answering, so the sequence for a given seed is fixed.
 */
export function decideAnswer(random: Random, settings: Pick<ServerSettings, 'ignoreProbability' | 'answerDelayMinMs' | 'answerDelayMaxMs'>): { ignore: true } | { ignore: false; delayMs: number } {
  if (random() < settings.ignoreProbability) return { ignore: true };
  return { ignore: false, delayMs: uniform(random, settings.answerDelayMinMs, settings.answerDelayMaxMs) };
}

export class ClientSession {
  badLines = 0;
  pendingAnswers = 0;
  open = true;
  paused = false;
  constructor(
    readonly id: number,
    readonly peer: Peer,
  ) {}
}

/**
 * The server's protocol state: client numbering, the one server-wide counter shared by PONGs and
 * keepalives, per-request random decisions and timers, the keepalive schedule, and server.log.
 *
 * Every request is handled on its own timer as soon as its line is read, so a slow answer never
 * holds up the next request. The counter value k is taken at the moment a line is queued on its
 * socket (after the delay, not when the request arrives), so k follows the order in which answers
 * and keepalives go out: 0, 1, 2 ... with no gaps. A number is never spent on a line nobody gets:
 * an answer for a client that left is abandoned without one, and a keepalive with no recipients
 * is skipped.
 *
 * With `shared` (one core per thread of `pingpong-server --threads N`), client numbers and k come
 * from the SharedServerState, so they stay one server-wide sequence: see answerShared and
 * keepaliveTick. Without it (one thread), everything is local and nothing is locked.
 */
export class PingPongServerCore {
  private counter = 0;
  private nextId = 1;
  private readonly sessions = new Set<ClientSession>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private keepaliveTimer: NodeJS.Timeout | undefined;
  private drainWaiters: (() => void)[] = [];
  /** Shared mode: the keepalive slot this thread has sent (or skipped) last, and the schedule. */
  private sentSlot = 0;
  private keepaliveAnchorMs = 0;

  constructor(
    private readonly settings: ServerSettings,
    private readonly random: Random,
    private readonly log: EventLog,
    private readonly observer: ServerObserver = {},
    private readonly clock: () => number = Date.now,
    private readonly shared?: SharedServerState,
  ) {}

  /** Clients connected to this core (this thread). */
  get connected(): number {
    return this.sessions.size;
  }

  /** The next counter value to be sent (server-wide). */
  get nextK(): number {
    return this.shared ? this.shared.nextK : this.counter;
  }

  get pendingAnswers(): number {
    return this.timers.size;
  }

  /** Registers a new connection and gives it the next client number. */
  connect(peer: Peer): ClientSession {
    const session = new ClientSession(this.shared ? this.shared.nextId() : this.nextId++, peer);
    this.sessions.add(session);
    this.shared?.addConnected(1);
    return session;
  }

  disconnect(session: ClientSession): void {
    session.open = false;
    if (this.sessions.delete(session)) this.shared?.addConnected(-1);
  }

  receive(session: ClientSession, event: LineEvent): void {
    if (!session.open) return;
    const receivedAt = new Date(this.clock());
    if (event.kind === 'too-long') return this.bad(session, 'too_long', `(${event.bytes} bytes)`);
    const message = parseClientLine(event.text);
    if (message.type === 'bad') return this.bad(session, message.reason, message.text);

    const decision = decideAnswer(this.random, this.settings);
    if (decision.ignore) {
      this.log.append(serverIgnoredLine(receivedAt, message.text, this.settings.markers));
      this.observer.request?.(session, 'ignored');
      return;
    }
    session.pendingAnswers++;
    if (session.pendingAnswers >= this.settings.maxPendingAnswers && !session.paused) {
      session.paused = true;
      session.peer.pauseReading();
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      session.pendingAnswers--;
      if (session.paused && session.open && session.pendingAnswers <= this.settings.maxPendingAnswers / 2) {
        session.paused = false;
        session.peer.resumeReading();
      }
      this.answer(session, receivedAt, message.text, message.nText);
      if (this.timers.size === 0) this.wakeDrainWaiters();
    }, decision.delayMs);
    this.timers.add(timer);
  }

  private answer(session: ClientSession, receivedAt: Date, requestText: string, nText: string): void {
    if (this.shared) return this.answerShared(session, receivedAt, requestText, nText, this.shared);
    // The exact length is known before k is: reserve for the widest k we could still be given.
    const worstCase = pongText(this.counter, nText, session.id).length + 1;
    if (!session.open || !session.peer.reserve(worstCase)) {
      this.observer.request?.(session, 'abandoned');
      return;
    }
    const k = this.counter++;
    const text = pongText(k, nText, session.id);
    session.peer.write(text + '\n');
    this.log.append(serverAnsweredLine(receivedAt, requestText, new Date(this.clock()), text));
    this.observer.request?.(session, 'answered');
  }

  /**
   * Shared mode: k is taken, the line queued and server.log appended under the shared lock, so
   * numbers go out and are logged in order across threads. A keepalive another thread has numbered
   * but this one has not sent yet is sent first (outside the lock): its k is lower, and this
   * client must read it before the PONG.
   */
  private answerShared(session: ClientSession, receivedAt: Date, requestText: string, nText: string, shared: SharedServerState): void {
    // Other threads may take numbers between the reservation and ours: allow one more digit.
    const worstCase = pongText(shared.nextK, nText, session.id).length + 2;
    if (!session.open || !session.peer.reserve(worstCase)) {
      this.observer.request?.(session, 'abandoned');
      return;
    }
    for (;;) {
      let pending: { slot: number; k: number } | undefined;
      shared.lock();
      try {
        if (shared.keepaliveSlot > this.sentSlot) pending = { slot: shared.keepaliveSlot, k: shared.keepaliveK };
        else {
          const text = pongText(shared.takeK(), nText, session.id);
          session.peer.write(text + '\n');
          this.log.append(serverAnsweredLine(receivedAt, requestText, new Date(this.clock()), text));
        }
      } finally {
        shared.unlock();
      }
      if (!pending) break;
      this.sendSharedKeepalive(pending.slot, pending.k);
      if (!session.open) {
        this.observer.request?.(session, 'abandoned');
        return;
      }
    }
    this.observer.request?.(session, 'answered');
  }

  private bad(session: ClientSession, reason: BadLineReason, text: string): void {
    session.badLines++;
    this.observer.badLine?.(session, reason, text);
    if (session.badLines > this.settings.maxBadLines) session.peer.close('bad_lines');
  }

  /**
   * Starts the broadcast: the i-th keepalive is due at anchor + i * period. Timers are set against
   * that schedule, not chained, so lateness never accumulates; a tick that comes more than a
   * period late sends once and moves on to the next slot still in the future. None goes out early.
   */
  startKeepalives(anchorMs = this.clock()): number {
    const period = this.settings.keepalivePeriodMs;
    this.keepaliveAnchorMs = anchorMs;
    let slot = 1;
    const arm = () => {
      this.keepaliveTimer = setTimeout(tick, Math.max(0, anchorMs + slot * period - this.clock()));
    };
    const tick = () => {
      const scheduledAt = anchorMs + slot * period;
      // A timer set from the wall clock can fire up to a millisecond early by it: never send before the slot.
      if (this.clock() < scheduledAt) return arm();
      if (this.shared) this.keepaliveShared(slot, this.shared);
      else this.broadcastKeepalive(scheduledAt);
      slot = Math.max(slot + 1, Math.floor((this.clock() - anchorMs) / period) + 1);
      arm();
    };
    arm();
    return anchorMs;
  }

  stopKeepalives(): void {
    clearTimeout(this.keepaliveTimer);
    this.keepaliveTimer = undefined;
  }

  /** Sends one keepalive to every connected client; returns its k, or undefined if nobody got it. */
  broadcastKeepalive(scheduledAt = this.clock()): number | undefined {
    const started = this.clock();
    const worstCase = keepaliveText(this.counter).length + 1;
    const recipients = [...this.sessions].filter((s) => s.open && s.peer.reserve(worstCase));
    if (recipients.length === 0) return undefined;
    const k = this.counter++;
    const data = Buffer.from(keepaliveText(k) + '\n', 'latin1');
    for (const session of recipients) session.peer.write(data);
    this.observer.keepalive?.(k, recipients.length, started - scheduledAt, this.clock() - started);
    return k;
  }

  /**
   * Shared mode: the first thread whose timer fires for a slot numbers its keepalive (if anyone is
   * connected anywhere); every thread sends the newest numbered keepalive it has not sent yet.
   */
  private keepaliveShared(slot: number, shared: SharedServerState): void {
    shared.lock();
    let latest: number;
    let k: number;
    try {
      shared.decideKeepalive(slot);
      latest = shared.keepaliveSlot;
      k = shared.keepaliveK;
    } finally {
      shared.unlock();
    }
    if (latest > this.sentSlot) this.sendSharedKeepalive(latest, k);
  }

  /** Sends keepalive k of `slot` to this thread's clients (k -1: skipped, nobody was connected). */
  private sendSharedKeepalive(slot: number, k: number): void {
    this.sentSlot = slot;
    if (k < 0) return;
    const started = this.clock();
    const data = Buffer.from(keepaliveText(k) + '\n', 'latin1');
    let recipients = 0;
    for (const session of this.sessions) {
      if (!session.open || !session.peer.reserve(data.length)) continue;
      session.peer.write(data);
      recipients++;
    }
    const scheduledAt = this.keepaliveAnchorMs + slot * this.settings.keepalivePeriodMs;
    this.observer.keepalive?.(k, recipients, started - scheduledAt, this.clock() - started);
  }

  /** Resolves once every answer already decided on has gone out (or been abandoned). */
  whenDrained(): Promise<void> {
    if (this.timers.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Forgets answers still waiting (a shutdown whose grace period ran out). */
  cancelPending(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.wakeDrainWaiters();
  }

  private wakeDrainWaiters(): void {
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const wake of waiters) wake();
  }
}
