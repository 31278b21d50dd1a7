import { describe, expect, it } from 'vitest';
import { REORDER_WINDOW, SeqTracker, TickClass } from '../../src/tick/seq-tracker.js';

const T0 = 1_700_000_000_000_000;
/** Feeds seqs of one boot, t = 10 ms per seq. */
function feed(tracker: SeqTracker, seqs: number[], boot: string | undefined = 'b1') {
  return seqs.map((s) => tracker.observe(s, T0 + s * 10_000, boot));
}

describe('SeqTracker', () => {
  it('counts an in-order stream, starting wherever the peer is', () => {
    const t = new SeqTracker();
    expect(feed(t, [500, 501, 502])).toEqual([TickClass.First, TickClass.InOrder, TickClass.InOrder]);
    expect(t.take(true)).toEqual({ received: 3, lost: 0, reordered: 0, duplicates: 0, restarts: 0 });
  });

  it('counts a gap as lost once it falls out of the reorder window, or at the end', () => {
    const t = new SeqTracker();
    feed(t, [0, 1, 4]);
    expect(t.take()).toMatchObject({ received: 3, lost: 0 });
    expect(t.pendingMissing).toBe(2);
    feed(t, Array.from({ length: REORDER_WINDOW }, (_, i) => 5 + i));
    expect(t.take()).toMatchObject({ lost: 2 });
    const u = new SeqTracker();
    feed(u, [0, 3]);
    expect(u.take(true)).toMatchObject({ received: 2, lost: 2 });
  });

  it('counts a late tick that fills a gap as reordered, not lost', () => {
    const t = new SeqTracker();
    expect(feed(t, [0, 2, 1, 3])).toEqual([TickClass.First, TickClass.Gap, TickClass.Reordered, TickClass.InOrder]);
    expect(t.take(true)).toEqual({ received: 4, lost: 0, reordered: 1, duplicates: 0, restarts: 0 });
  });

  it('counts repeats as duplicates, not received', () => {
    const t = new SeqTracker();
    expect(feed(t, [0, 1, 1, 0, 2])).toEqual([TickClass.First, TickClass.InOrder, TickClass.Duplicate, TickClass.Duplicate, TickClass.InOrder]);
    expect(t.take(true)).toEqual({ received: 3, lost: 0, reordered: 0, duplicates: 2, restarts: 0 });
  });

  it('detects a restart by a new boot id and does not count the seq reset as loss', () => {
    const t = new SeqTracker();
    feed(t, [0, 1, 2, 3], 'b1');
    expect(t.observe(0, T0 + 10_000_000, 'b2')).toBe(TickClass.Restart);
    feed(t, [1, 2], 'b2');
    expect(t.take(true)).toEqual({ received: 7, lost: 0, reordered: 0, duplicates: 0, restarts: 1 });
  });

  it('detects a restart even when the new boot happens to continue with a higher seq', () => {
    const t = new SeqTracker();
    feed(t, [0, 1], 'b1');
    expect(t.observe(100, T0 + 10_000_000, 'b2')).toBe(TickClass.Restart);
    expect(t.take(true)).toMatchObject({ lost: 0, restarts: 1 });
  });

  it('counts gaps still open in the old stream as lost at a restart', () => {
    const t = new SeqTracker();
    feed(t, [0, 1, 5], 'b1');
    t.observe(0, T0 + 10_000_000, 'b2');
    expect(t.take(true)).toMatchObject({ lost: 3, restarts: 1 });
  });

  it('without boot ids, tells a restart (seq back, t forward) from a late tick (seq back, t back)', () => {
    const t = new SeqTracker();
    feed(t, [0, 1, 2, 4, 3], undefined);
    expect(t.observe(0, T0 + 60_000_000, undefined)).toBe(TickClass.Restart);
    expect(t.take(true)).toEqual({ received: 6, lost: 0, reordered: 1, duplicates: 0, restarts: 1 });
  });

  it('counts a long outage as lost at once beyond the window, without tracking every seq', () => {
    const t = new SeqTracker();
    feed(t, [0, 1_000_000]);
    expect(t.pendingMissing).toBe(REORDER_WINDOW - 1);
    expect(t.take(true)).toMatchObject({ lost: 999_999, received: 2 });
  });
});
