// Seeded randomness for the fuzzers. Every case draws from its own generator, seeded from the run's
// seed and the case's number, so one case replays alone (`--case N`) exactly as it ran among the others,
// whichever worker ran it and in whatever order.

/** mulberry32: small, fast, and good enough to pick mutations. Returns floats in [0, 1). */
export function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 32-bit seed for case `index` of a run seeded `seed` (a murmur3-style mix of the two). */
export function caseSeed(seed, index) {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index >>> 0, 0x85ebca6b)) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The generator of case `index`, with a few helpers bound to it. */
export function caseRandom(seed, index) {
  const r = prng(caseSeed(seed, index));
  return {
    float: r,
    /** An integer in [0, n). */
    int: (n) => Math.floor(r() * n),
    pick: (xs) => xs[Math.floor(r() * xs.length)],
    chance: (p) => r() < p,
  };
}
