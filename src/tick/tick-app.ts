/**
 * One tick app (app1 or app2 of the exercise): publishes its own ticks on an absolute schedule,
 * follows the peer's ticks, prints dt per tick and a summary line every period, and keeps the
 * totals of the run. It talks to the broker only through a `Bus` and takes its clock and output as
 * parameters, so everything here runs in tests without a broker.
 */
import type { Logger } from '../core/logger.js';
import { Registry } from '../core/metrics.js';
import type { Rejections } from '../core/rejections.js';
import { errorText, type Bus, type BusStatus } from './bus.js';
import { createTickRejections, initTickMetrics, type TickMetrics } from './metrics.js';
import { decodeTick, encodeTick, formatDt, MAX_ECHO_AGE_US, newBootId, nowUs, TICK_REJECT_REASONS, TickRejectReason, type Tick } from './protocol.js';
import type { TickRunResult } from './run-result.js';
import { DriftMeter, runSchedule, TickSchedule, type DueTick, type ScheduleRunner } from './schedule.js';
import { SeqTracker, TickClass, type SeqCounts } from './seq-tracker.js';
import { TickGate } from './tick-gate.js';
import { formatSummary, IntervalStats, RunStats, type TickSummary } from './tick-stats.js';

// Re-exported: callers and tests import these from the app module.
export { createTickRejections, MAX_ECHO_AGE_US };
export type { TickRunResult };
/** Silence from the peer for this long is logged once (it stopped, or the bus is down). */
export const PEER_SILENT_US = 2_000_000;

export const PrintMode = { Every: 'every', Summary: 'summary', None: 'none' } as const;
export type PrintMode = (typeof PrintMode)[keyof typeof PrintMode];
export const PRINT_MODES = ['every', 'summary', 'none'] as const;

export interface TickAppOptions {
  name: string;
  peer: string;
  /** Ticks per second. */
  rate: number;
  /** Namespace of the keys, so several pairs can share one broker. */
  channel: string;
  print: PrintMode;
  summaryEveryMs: number;
  /** How long before each tick the schedule stops sleeping and polls the clock (0: never). */
  spinUs?: number;
  /** dt, RTT and jitter samples of the first this-many µs stay out of the run totals (--json); counts do not. */
  warmupUs?: number;
  bus: Bus;
  logger: Logger;
  metrics?: TickMetrics;
  /** Counts and logs rejected messages (createTickRejections); one on a registry of its own if not given. */
  rejections?: Rejections<TickRejectReason>;
  clock?: () => number;
  /** Where dt and summary lines go (stdout by default). */
  out?: (line: string) => void;
  bootId?: string;
}

export const tickKey = (channel: string, app: string): string => `${channel}.${app}`;

export class TickApp {
  private readonly clock: () => number;
  private readonly out: (line: string) => void;
  private readonly bootId: string;
  private readonly periodUs: number;
  private readonly tracker = new SeqTracker();
  private readonly interval = new IntervalStats();
  private readonly run = new RunStats();
  private readonly direction: string;
  private schedule: TickSchedule | undefined;
  private runner: ScheduleRunner | undefined;
  private summaryTimer: NodeJS.Timeout | undefined;
  private lastPeer: { seq: number; tUs: number; receivedUs: number } | undefined;
  private peerSilentLogged = true;
  private readonly drift: DriftMeter;
  private skippedReported = 0;
  private disconnects = 0;
  private everConnected = false;
  private unpublishedBeforeConnect = 0;
  private disconnectedAtUs: number | undefined;
  private unpublishedAtDisconnect = 0;
  private readonly gate: TickGate;
  private readonly rejections: Rejections<TickRejectReason>;
  private readonly rejectedByReason = Object.fromEntries(TICK_REJECT_REASONS.map((r) => [r, 0])) as Record<TickRejectReason, number>;
  private subscriptionLosses = 0;
  private startedAtUs = 0;
  private stopped: Promise<TickRunResult> | undefined;
  private unsubscribeStatus: (() => void) | undefined;

  constructor(private readonly o: TickAppOptions) {
    this.clock = o.clock ?? nowUs;
    this.out = o.out ?? ((line) => process.stdout.write(line + '\n'));
    this.bootId = o.bootId ?? newBootId();
    this.periodUs = 1e6 / o.rate;
    this.direction = `${o.peer}->${o.name}`;
    this.drift = new DriftMeter(this.periodUs);
    this.gate = new TickGate(o.peer);
    this.rejections = o.rejections ?? createTickRejections(new Registry(), o.logger);
    if (o.metrics) initTickMetrics(o.metrics, o.bus.kind, this.direction);
  }

  /** What the bus says about its connection: logs, metrics and the run's disconnect counts. */
  private onBusStatus(status: BusStatus): void {
    const { logger, bus, metrics } = this.o;
    const labels = { bus: bus.kind };
    if (status.type === 'connected') {
      this.everConnected = true;
      metrics?.connected.set(labels, 1);
      if (this.disconnectedAtUs !== undefined) {
        const downS = (this.clock() - this.disconnectedAtUs) / 1e6;
        const unpublished = this.run.unpublished - this.unpublishedAtDisconnect;
        logger.info({ bus: bus.displayUrl, downSeconds: Number(downS.toFixed(3)), unpublished }, `reconnected to ${bus.displayUrl} after ${downS.toFixed(1)} s; ${unpublished} ticks could not be published meanwhile`);
        this.disconnectedAtUs = undefined;
      } else logger.info({ bus: bus.displayUrl }, `connected to ${bus.displayUrl}`);
    } else if (status.type === 'disconnected') {
      metrics?.connected.set(labels, 0);
      metrics?.disconnects.inc(labels);
      this.disconnects++;
      this.disconnectedAtUs = this.clock();
      this.unpublishedAtDisconnect = this.run.unpublished;
      logger.warn({ bus: bus.displayUrl, reason: status.reason }, `lost the broker at ${bus.displayUrl} (${status.reason}); ticks keep their schedule and count as unpublished until it is back`);
    } else if (status.type === 'handler-failed') {
      this.reject(TickRejectReason.HandlerError, { key: status.key, error: status.reason });
    } else if (status.type === 'subscription-lost') {
      this.subscriptionLosses++;
      metrics?.subscriptionLosses.inc(labels);
      logger.warn({ bus: bus.displayUrl, key: status.key, reason: status.reason }, `the broker ended the subscription to ${status.key} (${status.reason}); subscribing again`);
    } else {
      metrics?.connected.set(labels, 0);
      logger.warn({ bus: bus.displayUrl, attempt: status.attempt, delayMs: status.delayMs, reason: status.reason }, `broker at ${bus.displayUrl} not reachable (${status.reason}); retrying in ${status.delayMs} ms (attempt ${status.attempt})`);
    }
  }

  /** Listens to the bus's status, subscribes to the peer's ticks and starts connecting (start() does this, then ticks). */
  attach(): void {
    const { bus, channel, peer, metrics } = this.o;
    metrics?.connected.set({ bus: bus.kind }, 0);
    this.unsubscribeStatus ??= bus.onStatus((status) => this.onBusStatus(status));
    bus.subscribe(tickKey(channel, peer), (body) => this.onMessage(body));
    bus.start();
    this.startedAtUs = this.clock();
  }

  start(): void {
    const { summaryEveryMs } = this.o;
    this.attach();
    this.schedule = new TickSchedule(this.startedAtUs, this.periodUs);
    this.runner = runSchedule(this.schedule, this.clock, (tick, now) => this.onTick(tick, now), this.o.spinUs);
    // Runs with --print none too: the seq counters reach the metrics at each summary.
    if (summaryEveryMs > 0) {
      this.summaryTimer = setInterval(() => this.emitSummary(false), summaryEveryMs);
      this.summaryTimer.unref();
    }
  }

  /** One own tick: take the time, attach the echo, hand it to the bus (never waits for it). */
  onTick(due: DueTick, now: number): void {
    const { bus, metrics } = this.o;
    const tick: Tick = { src: this.o.name, seq: due.seq, tUs: now, boot: this.bootId };
    const peer = this.lastPeer;
    if (peer && now - peer.receivedUs <= MAX_ECHO_AGE_US) tick.echo = { seq: peer.seq, tUs: peer.tUs, ageUs: now - peer.receivedUs };
    // Publish first: everything between taking t and handing the tick over counts into the peer's dt.
    const published = bus.publish(tickKey(this.o.channel, this.o.name), encodeTick(tick));
    const labels = { bus: bus.kind };
    if (published) {
      this.interval.sent++;
      this.run.sent++;
      metrics?.sent.inc(labels);
    } else {
      this.interval.unpublished++;
      this.run.unpublished++;
      if (!this.everConnected) this.unpublishedBeforeConnect++;
      metrics?.unpublished.inc(labels);
    }
    const jitterUs = now - due.dueUs;
    this.interval.jitter.push(jitterUs);
    if (this.warm(now)) this.run.jitter.add(jitterUs);
    metrics?.jitter.observe(labels, jitterUs / 1e6);
    this.drift.record(now);
    if (peer && !this.peerSilentLogged && now - peer.receivedUs > PEER_SILENT_US) {
      this.peerSilentLogged = true;
      this.o.logger.info({ peer: this.o.peer }, `peer ${this.o.peer} silent for ${PEER_SILENT_US / 1e6} s (stopped, or the bus is down)`);
    }
  }

  /** One message from the bus (the peer's key): validate, classify, measure, print. Never throws. */
  onMessage(body: Uint8Array): void {
    try {
      this.handleMessage(body);
    } catch (err) {
      this.reject(TickRejectReason.HandlerError, { error: errorText(err) });
    }
  }

  private handleMessage(body: Uint8Array): void {
    const now = this.clock();
    const decoded = decodeTick(body);
    if (!decoded.ok) {
      this.reject(decoded.reason, { detail: decoded.error, bytes: body.byteLength });
      return;
    }
    const tick = decoded.tick;
    const rejected = this.gate.admit(tick, now);
    if (rejected) {
      this.reject(rejected, { src: tick.src, seq: tick.seq, t: tick.tUs / 1e6, boot: tick.boot, dtUs: now - tick.tUs });
      return;
    }
    const kind = this.tracker.observe(tick.seq, tick.tUs, tick.boot);
    if (kind === TickClass.Duplicate) {
      this.o.metrics?.duplicates.inc({ bus: this.o.bus.kind, direction: this.direction });
      return;
    }
    if (kind === TickClass.First || kind === TickClass.Restart) {
      this.o.logger.info({ peer: this.o.peer, seq: tick.seq }, kind === TickClass.First ? `peer ${this.o.peer} is here` : `peer ${this.o.peer} restarted (seq ${tick.seq})`);
    } else if (this.peerSilentLogged && this.lastPeer) this.o.logger.info({ peer: this.o.peer }, `peer ${this.o.peer} is back`);
    this.peerSilentLogged = false;
    if (kind !== TickClass.Reordered) this.lastPeer = { seq: tick.seq, tUs: tick.tUs, receivedUs: now };
    this.recordReceived(tick, now);
  }

  /** Counted by reason, logged at a bounded rate, and in none of the dt, RTT or seq figures. */
  private reject(reason: TickRejectReason, fields: Record<string, unknown>): void {
    this.rejectedByReason[reason]++;
    this.interval.rejected++;
    this.run.rejected++;
    this.rejections.reject(reason, { ...fields, peer: this.o.peer, bus: this.o.bus.kind });
  }

  private recordReceived(tick: Tick, now: number): void {
    const { metrics, bus } = this.o;
    const labels = { bus: bus.kind, direction: this.direction };
    const dtUs = now - tick.tUs;
    this.interval.dt.push(dtUs);
    const warm = this.warm(now);
    if (warm) this.run.dt.add(dtUs);
    metrics?.dt.observe(labels, dtUs / 1e6);
    if (tick.echo) {
      // Both times are in our own clock: our tick's t, and now; the peer's hold time comes off.
      const rttUs = now - tick.echo.tUs - tick.echo.ageUs;
      if (rttUs >= 0) {
        this.interval.rttHalf.push(rttUs / 2);
        if (warm) this.run.rttHalf.add(rttUs / 2);
        metrics?.rtt.observe(labels, rttUs / 1e6);
      }
    }
    if (this.o.print === PrintMode.Every) this.out(formatDt(dtUs));
  }

  /** Past the warm-up (JIT, connection set-up), so samples count towards the run totals. */
  private warm(now: number): boolean {
    return now - this.startedAtUs >= (this.o.warmupUs ?? 0);
  }

  private takeCounts(final: boolean): { counts: SeqCounts; skipped: number } {
    const counts = this.tracker.take(final);
    this.run.addCounts(counts);
    const { metrics, bus } = this.o;
    if (metrics) {
      const labels = { bus: bus.kind, direction: this.direction };
      metrics.received.inc(labels, counts.received);
      metrics.lost.inc(labels, counts.lost);
      metrics.reordered.inc(labels, counts.reordered);
      metrics.peerRestarts.inc(labels, counts.restarts);
    }
    const skippedTotal = this.schedule?.skipped ?? 0;
    const skipped = skippedTotal - this.skippedReported;
    this.skippedReported = skippedTotal;
    metrics?.skipped.inc({ bus: bus.kind }, skipped);
    return { counts, skipped };
  }

  /** Prints the summary of the ticks since the last one; periodic ones only when there is something to say. */
  emitSummary(final: boolean): TickSummary {
    const { counts, skipped } = this.takeCounts(final);
    const summary = this.interval.take(counts, skipped);
    const quiet = summary.received === 0 && summary.lost === 0 && summary.duplicates === 0 && summary.rejected === 0;
    if (this.o.print !== PrintMode.None && (final || !quiet)) this.out(formatSummary(summary));
    return summary;
  }

  /** Stops ticking, prints the final summary, closes the bus; returns the totals. Idempotent. */
  stop(): Promise<TickRunResult> {
    this.stopped ??= (async () => {
      this.runner?.stop();
      if (this.summaryTimer) clearInterval(this.summaryTimer);
      this.emitSummary(true);
      const result = this.result();
      const reasons = TICK_REJECT_REASONS.filter((r) => result.rejected_by_reason[r] > 0).map((r) => `${r} ${result.rejected_by_reason[r]}`);
      this.o.logger.info(
        { received: result.received, lost: result.lost, rejected: result.rejected, rejectedByReason: result.rejected_by_reason, disconnects: result.disconnects, subscriptionLosses: result.subscription_losses, subscribed: this.o.bus.subscribed },
        `${this.o.name} done: received ${result.received}, lost ${result.lost}, rejected ${result.rejected}${reasons.length ? ` (${reasons.join(', ')})` : ''}, disconnects ${result.disconnects}, subscription losses ${result.subscription_losses}${this.o.bus.subscribed ? '' : '; NOT subscribed to the peer at the end'}`,
      );
      await this.o.bus.close();
      this.unsubscribeStatus?.();
      this.o.metrics?.connected.set({ bus: this.o.bus.kind }, 0);
      return result;
    })();
    return this.stopped;
  }

  /** The totals so far (the final summary is taken by stop()). */
  result(): TickRunResult {
    const s = this.run.summary(this.schedule?.skipped ?? 0);
    return {
      name: this.o.name,
      peer: this.o.peer,
      bus: this.o.bus.kind,
      url: this.o.bus.displayUrl,
      channel: this.o.channel,
      rate: this.o.rate,
      startedAt: new Date(this.startedAtUs / 1000).toISOString(),
      durationSeconds: Number(((this.clock() - this.startedAtUs) / 1e6).toFixed(3)),
      sent: s.sent,
      unpublished: s.unpublished,
      unpublished_before_connect: this.unpublishedBeforeConnect,
      skipped: s.skipped,
      received: s.received,
      lost: s.lost,
      reordered: s.reordered,
      duplicates: s.duplicates,
      restarts: s.restarts,
      disconnects: this.disconnects,
      rejected: s.rejected,
      rejected_by_reason: { ...this.rejectedByReason },
      subscription_losses: this.subscriptionLosses,
      dt_us: s.dt,
      rtt_half_us: s.rttHalf,
      jitter_us: s.jitter,
      drift_ticks: Number(this.drift.driftTicks().toFixed(2)),
      dt_buckets_us: this.run.dtBuckets(),
    };
  }
}
