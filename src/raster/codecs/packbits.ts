/**
 * Decodes Apple PackBits (TIFF compression 32773) into at most `expected` bytes. Returns exactly
 * `expected` bytes, or fewer when the input runs out; the caller decides what a short block means.
 *
 * Like libtiff, a run that would overflow the block is clamped (libtiff warns "Discarding N bytes"),
 * a literal run cut short by the end of the data copies what is there, and the no-op header 128 is
 * skipped. Every header consumes input, so hostile data cannot loop forever.
 */
export function packBitsDecode(src: Uint8Array, expected: number): Uint8Array {
  const out = new Uint8Array(expected);
  const n = src.length;
  let ip = 0;
  let op = 0;
  while (op < expected && ip < n) {
    const h = src[ip++]!;
    if (h < 128) {
      // h + 1 literal bytes.
      const count = Math.min(h + 1, n - ip, expected - op);
      // Short runs are the common case; a loop beats creating a subarray view for each.
      if (count > 16) out.set(src.subarray(ip, ip + count), op);
      else for (let i = 0; i < count; i++) out[op + i] = src[ip + i]!;
      ip += h + 1;
      op += count;
    } else if (h > 128) {
      // The next byte repeated 257 - h times.
      if (ip >= n) break;
      const count = Math.min(257 - h, expected - op);
      out.fill(src[ip++]!, op, op + count);
      op += count;
    }
  }
  return out.subarray(0, op);
}
