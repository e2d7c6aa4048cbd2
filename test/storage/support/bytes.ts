/** Reproducible pseudo-random bytes (xorshift32), so a wrong offset can never read as right. */
export function patternBytes(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/**
 * Asserts byte-for-byte equality. Faster than `toEqual` on big arrays, and a failure names the
 * first differing offset rather than dumping both arrays.
 */
export function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  if (Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength))) {
    return;
  }
  let i = 0;
  while (i < actual.length && i < expected.length && actual[i] === expected[i]) i++;
  throw new Error(
    `bytes differ: got ${actual.length} bytes, expected ${expected.length}; first difference at offset ${i} (got ${actual[i]}, expected ${expected[i]})`,
  );
}
