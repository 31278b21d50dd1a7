/** A uniform random source in [0, 1): seeded (mulberry32) for reproducible runs, Math.random otherwise. */
export type Random = () => number;

export function createRandom(seed?: number): Random {
  if (seed === undefined) return Math.random;
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A whole number from min to max, both ends possible. */
export const randomInt = (random: Random, min: number, max: number): number => min + Math.floor(random() * (max - min + 1));
