/**
 * Follows the seq numbers of one peer and classifies every tick: in order, after a gap, a late
 * (reordered) arrival that fills a gap, a duplicate, or the first tick of a restarted peer. Pure:
 * feed it ticks, read the counts.
 *
 * A missing seq is not lost at once: it waits REORDER_WINDOW ticks for a late arrival, then counts
 * as lost. A peer restart (new boot id, or seq going back while t goes forward for peers that send
 * no boot id) starts a new stream and is never counted as loss; gaps still open in the old stream
 * are lost then.
 */

/** A missing tick may still arrive, and count as reordered, while it is fewer than this many seqs behind the newest. */
export const REORDER_WINDOW = 1024;

export const TickClass = {
  First: 'first',
  InOrder: 'in-order',
  Gap: 'gap',
  Reordered: 'reordered',
  Duplicate: 'duplicate',
  Restart: 'restart',
} as const;
export type TickClass = (typeof TickClass)[keyof typeof TickClass];

export interface SeqCounts {
  /** Ticks accepted (first, in order, after a gap, reordered, restart); duplicates excluded. */
  received: number;
  lost: number;
  reordered: number;
  duplicates: number;
  restarts: number;
}

export const emptyCounts = (): SeqCounts => ({ received: 0, lost: 0, reordered: 0, duplicates: 0, restarts: 0 });

export class SeqTracker {
  private boot: string | undefined;
  private maxSeq = -1;
  private maxSeqT = 0;
  /** Seqs of the current stream that have not arrived yet (all within REORDER_WINDOW of maxSeq). */
  private readonly missing = new Set<number>();
  private counts = emptyCounts();

  /** Whether any tick has been seen. */
  get started(): boolean {
    return this.maxSeq >= 0;
  }

  /** Classifies one tick and updates the counts. */
  observe(seq: number, tUs: number, boot?: string): TickClass {
    if (!this.started) {
      this.resetStream(seq, tUs, boot);
      this.counts.received++;
      return TickClass.First;
    }
    const restarted = boot !== undefined || this.boot !== undefined
      ? boot !== this.boot
      : seq < this.maxSeq && tUs > this.maxSeqT;
    if (restarted) {
      this.counts.lost += this.missing.size;
      this.resetStream(seq, tUs, boot);
      this.counts.received++;
      this.counts.restarts++;
      return TickClass.Restart;
    }
    if (seq > this.maxSeq) {
      const gap = seq - this.maxSeq - 1;
      if (gap > 0) this.openGap(this.maxSeq + 1, seq - 1);
      this.maxSeq = seq;
      this.maxSeqT = tUs;
      this.expireMissing();
      this.counts.received++;
      return gap > 0 ? TickClass.Gap : TickClass.InOrder;
    }
    if (this.missing.delete(seq)) {
      this.counts.received++;
      this.counts.reordered++;
      return TickClass.Reordered;
    }
    // Already seen, or older than the window (no longer tellable from a duplicate).
    this.counts.duplicates++;
    return TickClass.Duplicate;
  }

  /** Counts since the last take; `final` also counts every still-open gap as lost. */
  take(final = false): SeqCounts {
    if (final) {
      this.counts.lost += this.missing.size;
      this.missing.clear();
    }
    const out = this.counts;
    this.counts = emptyCounts();
    return out;
  }

  /** Gaps not yet resolved as lost or reordered. */
  get pendingMissing(): number {
    return this.missing.size;
  }

  private resetStream(seq: number, tUs: number, boot: string | undefined): void {
    this.boot = boot;
    this.maxSeq = seq;
    this.maxSeqT = tUs;
    this.missing.clear();
  }

  private openGap(from: number, to: number): void {
    // Seqs already out of the window (a long outage) are lost right away; the set stays bounded.
    // (`to + 1` becomes maxSeq; a seq stays pending while maxSeq - seq < REORDER_WINDOW.)
    const windowStart = Math.max(from, to + 2 - REORDER_WINDOW);
    this.counts.lost += windowStart - from;
    for (let s = windowStart; s <= to; s++) this.missing.add(s);
  }

  private expireMissing(): void {
    if (this.missing.size === 0) return;
    // Gaps open in ascending seq order and a Set iterates in insertion order: stop at the first young one.
    const oldest = this.maxSeq - REORDER_WINDOW;
    for (const s of this.missing) {
      if (s > oldest) break;
      this.missing.delete(s);
      this.counts.lost++;
    }
  }
}
