import { randomInt } from 'node:crypto';

/** A source of uniform numbers in [0, 1), like Math.random. */
export type Random = () => number;

/**
 * mulberry32: a tiny, fast 32-bit generator. Good enough for delays and coin flips, and the same
 * seed gives the same sequence on every machine, which is what `--seed` promises.
 */
export function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed for runs without `--seed`; logged so the run can be repeated. */
export const randomSeed = (): number => randomInt(0, 2 ** 31);

/** Uniform in [min, max]; min === max gives min. */
export const uniform = (random: Random, min: number, max: number): number => min + random() * (max - min);

/**
 * Derives independent seeds for the parts of one run (the server, client 1, client 2 ...) from one
 * `--seed`, so adding a client never shifts the others' sequences.
 */
export const deriveSeed = (seed: number, part: number): number => (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(part + 1, 0xc2b2ae35)) >>> 0;

/** `--seed` given: a reproducible mulberry32 stream; otherwise Math.random. */
export const createRandom = (seed?: number): Random => (seed === undefined ? Math.random : mulberry32(seed));

/** A whole number from min to max, both ends possible. */
export const uniformInt = (random: Random, min: number, max: number): number => min + Math.floor(random() * (max - min + 1));
