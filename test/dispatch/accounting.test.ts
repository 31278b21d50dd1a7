import { afterEach, describe, expect, it } from 'vitest';
import { auditStore, EXPECTED_PERIOD_OVER_800 } from '../../src/dispatch/accounting.js';
import { DispatchStore } from '../../src/dispatch/store.js';
import { newXid } from '../../src/dispatch/xid.js';
import { tempDir } from './helpers.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

/** A store of queued messages with these periods, as a dispatcher writes it (the counter beside them). */
async function storeWith(periods: number[]): Promise<DispatchStore> {
  const { dir, remove } = await tempDir('netlab-accounting-');
  cleanups.push(remove);
  const store = new DispatchStore(dir);
  const now = Date.now();
  for (const period of periods) void store.putMessage({ id: newXid(new Date(now)), period, state: 'queued', createdAt: now, attempts: [] });
  await store.putGenerated(periods.length);
  cleanups.unshift(() => store.close());
  return store;
}

const periodCheck = (store: DispatchStore) => auditStore(store, { maxAttempts: 3, periodShare: true }).checks.find((c) => /sampling error/.test(c.name))!;

describe('the "about 20%" check: the generated share of period > 800, within sampling error', () => {
  it('is 20% for periods uniform over 1..1000', () => {
    expect(EXPECTED_PERIOD_OVER_800).toBe(0.2);
  });

  it('passes a uniform generator and fails one that is off by more than the sampling error', async () => {
    const uniform = Array.from({ length: 2000 }, (_, i) => (i % 1000) + 1);
    const ok = periodCheck(await storeWith(uniform));
    expect(ok.pass, ok.detail).toBe(true);
    expect(ok.detail).toMatch(/^20\.0% of 2000 stored messages \(expected 20\.0% ± 3\.6%/);
    // 25% of 2,000 is 5 points off: beyond 4 standard deviations (3.6 points).
    const skewed = periodCheck(await storeWith(Array.from({ length: 2000 }, (_, i) => (i % 4 === 0 ? 900 : 100))));
    expect(skewed.pass, skewed.detail).toBe(false);
    expect(skewed.detail).toMatch(/^25\.0% of 2000 stored messages/);
  });

  it('never passes an empty store', async () => {
    expect(periodCheck(await storeWith([])).pass).toBe(false);
  });
});
