/** What `netlab tick --json` writes: the totals of one app's run (read back by tick-lab). */
import type { TickRejectReason } from './protocol.js';

export interface TickRunResult {
  name: string;
  peer: string;
  bus: string;
  url: string;
  channel: string;
  rate: number;
  startedAt: string;
  durationSeconds: number;
  sent: number;
  /** Own ticks that could not be published: before the first connection and during outages. */
  unpublished: number;
  /** Of those, the ones before the first connection (not an outage: the broker was never there yet). */
  unpublished_before_connect: number;
  skipped: number;
  received: number;
  lost: number;
  reordered: number;
  duplicates: number;
  restarts: number;
  disconnects: number;
  /** Messages on the peer's key that did not count as its ticks: in none of the figures above or below. */
  rejected: number;
  rejected_by_reason: Record<TickRejectReason, number>;
  /** Times the broker ended the subscription to the peer's key while connected (it was restarted each time). */
  subscription_losses: number;
  dt_us: { count: number; p50: number; p99: number; max: number };
  rtt_half_us: { count: number; p50: number; p99: number; max: number };
  jitter_us: { count: number; p50: number; p99: number; max: number };
  /** Own ticks produced minus those the wall clock since the first one calls for (DriftMeter). */
  drift_ticks: number;
  dt_buckets_us: { le: number | null; count: number }[];
}
