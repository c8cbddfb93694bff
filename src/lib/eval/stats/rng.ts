/**
 * @file The one seeded uniform generator of the engine (bootstrap resampling, KID subsets, seeded x_T noise).
 * Runtime-neutral; never `Math.random` where a number is reported.
 */

/** mulberry32: a small, fast, seedable 32-bit generator; each call returns a float in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
