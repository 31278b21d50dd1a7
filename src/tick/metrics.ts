/** Prometheus metrics of a tick app; all in base units (seconds), names under netlab_tick_. */
import type { Logger } from '../core/logger.js';
import { Counter, Gauge, Histogram, type Registry } from '../core/metrics.js';
import { Rejections } from '../core/rejections.js';
import { TICK_REJECT_REASONS, type TickRejectReason } from './protocol.js';

/** dt buckets (seconds): fine below 10 ms, where a local bus lives, coarse above for outages and clock offset. */
export const DT_BUCKETS_S = [
  0.0001, 0.0002, 0.0003, 0.0004, 0.0005, 0.0006, 0.0007, 0.0008, 0.0009, 0.001, 0.00125, 0.0015, 0.00175, 0.002, 0.0025, 0.003,
  0.004, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
];
/** Schedule jitter buckets (seconds): how late the app's own ticks fire. */
export const JITTER_BUCKETS_S = [0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.002, 0.005, 0.01, 0.05];

export interface TickMetrics {
  dt: Histogram<'bus' | 'direction'>;
  rtt: Histogram<'bus' | 'direction'>;
  jitter: Histogram<'bus'>;
  sent: Counter<'bus'>;
  unpublished: Counter<'bus'>;
  received: Counter<'bus' | 'direction'>;
  lost: Counter<'bus' | 'direction'>;
  reordered: Counter<'bus' | 'direction'>;
  duplicates: Counter<'bus' | 'direction'>;
  peerRestarts: Counter<'bus' | 'direction'>;
  skipped: Counter<'bus'>;
  connected: Gauge<'bus'>;
  disconnects: Counter<'bus'>;
  subscriptionLosses: Counter<'bus'>;
}

export function createTickMetrics(registry: Registry): TickMetrics {
  const registers = [registry];
  const counter = <L extends string>(name: string, help: string, labelNames: L[]) => new Counter<L>({ name, help, labelNames, registers });
  return {
    dt: new Histogram({ name: 'netlab_tick_dt_seconds', help: 'receive time minus the peer tick time (one-way delay plus clock offset)', labelNames: ['bus', 'direction'], buckets: DT_BUCKETS_S, registers }),
    rtt: new Histogram({ name: 'netlab_tick_rtt_seconds', help: 'round trip from an own tick to the peer tick that echoes it, minus the peer hold time', labelNames: ['bus', 'direction'], buckets: DT_BUCKETS_S, registers }),
    jitter: new Histogram({ name: 'netlab_tick_schedule_jitter_seconds', help: 'how late own ticks fire against their absolute schedule', labelNames: ['bus'], buckets: JITTER_BUCKETS_S, registers }),
    sent: counter('netlab_tick_sent_total', 'own ticks handed to the bus', ['bus']),
    unpublished: counter('netlab_tick_unpublished_total', 'own ticks that could not be published (broker down)', ['bus']),
    skipped: counter('netlab_tick_skipped_total', 'own ticks skipped because the process stalled for many periods', ['bus']),
    received: counter('netlab_tick_received_total', 'peer ticks received (duplicates excluded)', ['bus', 'direction']),
    lost: counter('netlab_tick_lost_total', 'peer ticks missing from the seq sequence', ['bus', 'direction']),
    reordered: counter('netlab_tick_reordered_total', 'peer ticks that arrived after a later one', ['bus', 'direction']),
    duplicates: counter('netlab_tick_duplicates_total', 'peer ticks received more than once', ['bus', 'direction']),
    peerRestarts: counter('netlab_tick_peer_restarts_total', 'times the peer restarted (new boot id, seq reset)', ['bus', 'direction']),
    connected: new Gauge({ name: 'netlab_tick_bus_connected', help: '1 while connected to the broker, else 0', labelNames: ['bus'], registers }),
    disconnects: counter('netlab_tick_bus_disconnects_total', 'times the broker connection was lost', ['bus']),
    subscriptionLosses: counter('netlab_tick_subscription_losses_total', 'times the broker ended the subscription to the peer key while connected (it is restarted)', ['bus']),
  };
}

/**
 * Creates every counter and histogram child of one app at 0, so a dashboard shows 0 (not "No data") for
 * events that have not happened yet: duplicates, disconnects, losses.
 */
export function initTickMetrics(m: TickMetrics, bus: string, direction: string): void {
  for (const c of [m.received, m.lost, m.reordered, m.duplicates, m.peerRestarts]) c.labels({ bus, direction }).inc(0);
  for (const c of [m.sent, m.unpublished, m.skipped, m.disconnects, m.subscriptionLosses]) c.labels({ bus }).inc(0);
  // The histograms too: a quantile over rate() needs samples from before the first tick.
  for (const h of [m.dt, m.rtt]) h.zero({ bus, direction });
  m.jitter.zero({ bus });
}

/** `netlab_tick_rejected_total{reason}`: messages on the peer's key that did not count as its ticks. */
export function createTickRejections(registry: Registry, logger: Logger): Rejections<TickRejectReason> {
  return new Rejections(registry, 'netlab_tick_rejected_total', 'messages on the peer key that were not counted as peer ticks, by reason', TICK_REJECT_REASONS, logger, "message on the peer's key");
}
