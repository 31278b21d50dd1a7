/**
 * What an echo listener has done, as plain numbers: a worker (process or thread) posts these to its
 * primary, which sums them for /metrics. Counters only grow; `open` and `bufferedBytes` are gauges.
 */
export interface EchoStats {
  /** Connections accepted. */
  accepted: number;
  /** Connections refused because `--max-connections` were open. */
  rejected: number;
  /** Connections open now. */
  open: number;
  bytesIn: number;
  /** Bytes accepted for sending back (including those still queued). */
  bytesOut: number;
  /** Bytes queued in the server waiting for a slow peer to read (bounded by backpressure). */
  bufferedBytes: number;
  /** Complete frames seen, with `--framed` (the bench's length-prefixed messages). */
  requests: number;
  /** Connections whose stream stopped looking framed, with `--framed`. */
  framingErrors: number;
  /** Connections closed because nothing moved for `--idle-timeout`. */
  idleTimeouts: number;
}

export const GAUGE_FIELDS = ['open', 'bufferedBytes'] as const satisfies readonly (keyof EchoStats)[];

export const emptyStats = (): EchoStats => ({
  accepted: 0,
  rejected: 0,
  open: 0,
  bytesIn: 0,
  bytesOut: 0,
  bufferedBytes: 0,
  requests: 0,
  framingErrors: 0,
  idleTimeouts: 0,
});

export function sumStats(all: Iterable<EchoStats>): EchoStats {
  const total = emptyStats();
  for (const s of all) for (const key of Object.keys(total) as (keyof EchoStats)[]) total[key] += s[key];
  return total;
}

/** The counters of a worker that is gone, kept so totals never go backwards; its gauges drop to 0. */
export function retire(stats: EchoStats): EchoStats {
  const kept = { ...stats };
  for (const key of GAUGE_FIELDS) kept[key] = 0;
  return kept;
}
