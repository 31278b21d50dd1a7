import { describe, expect, it } from 'vitest';
import { WriteBatcher } from '../../src/messenger/write-batcher.js';

describe('WriteBatcher', () => {
  it('groups what arrives during a write, keeps order and respects maxBatch and concurrency', async () => {
    const groups: number[][] = [];
    let active = 0;
    let maxActive = 0;
    const batcher = new WriteBatcher<number, string>({
      maxBatch: 4,
      concurrency: 1,
      async write(items) {
        active++;
        maxActive = Math.max(maxActive, active);
        groups.push(items);
        await new Promise((r) => setTimeout(r, 5));
        active--;
        return items.map((i) => `r${i}`);
      },
    });
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => batcher.submit(i)));
    expect(results).toEqual(Array.from({ length: 10 }, (_, i) => `r${i}`));
    expect(groups).toEqual([[0], [1, 2, 3, 4], [5, 6, 7, 8], [9]]);
    expect(maxActive).toBe(1);
    expect(batcher.pending).toBe(0);
  });

  it('rejects every caller of a failed group and goes on', async () => {
    let calls = 0;
    const batcher = new WriteBatcher<number, number>({
      maxBatch: 10,
      concurrency: 1,
      async write(items) {
        calls++;
        if (calls === 1) throw new Error('boom');
        return items;
      },
    });
    const first = batcher.submit(1);
    const second = batcher.submit(2);
    await expect(first).rejects.toThrow('boom');
    await expect(second).resolves.toBe(2);
    await batcher.drained();
  });
});
