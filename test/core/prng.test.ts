import { describe, expect, it } from 'vitest';
import { deriveSeed, mulberry32, uniform } from '../../src/core/prng.js';

describe('seeded random numbers', () => {
  it('repeats the same sequence for the same seed and differs for another', () => {
    const a = Array.from({ length: 5 }, mulberry32(42));
    expect(Array.from({ length: 5 }, mulberry32(42))).toEqual(a);
    expect(Array.from({ length: 5 }, mulberry32(43))).not.toEqual(a);
  });

  it('stays in [0, 1) and is close to uniform', () => {
    const random = mulberry32(7);
    const buckets = new Array<number>(10).fill(0);
    let outside = 0;
    for (let i = 0; i < 100_000; i++) {
      const x = random();
      if (!(x >= 0 && x < 1)) outside++;
      else buckets[Math.floor(x * 10)]!++;
    }
    expect(outside).toBe(0);
    for (const count of buckets) expect(Math.abs(count - 10_000)).toBeLessThan(500); // > 5 sigma
  });

  it('draws uniform values inside the range', () => {
    const random = mulberry32(1);
    for (let i = 0; i < 1000; i++) {
      const v = uniform(random, 300, 3000);
      expect(v).toBeGreaterThanOrEqual(300);
      expect(v).toBeLessThanOrEqual(3000);
    }
    expect(uniform(random, 5, 5)).toBe(5);
  });

  it('derives distinct seeds per part', () => {
    const seeds = new Set(Array.from({ length: 100 }, (_, i) => deriveSeed(1, i)));
    expect(seeds.size).toBe(100);
    expect(deriveSeed(1, 3)).toBe(deriveSeed(1, 3));
  });
});
