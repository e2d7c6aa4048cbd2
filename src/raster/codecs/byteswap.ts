import { endianness } from 'node:os';

/**
 * Typed arrays use the host's byte order, and every fast loop here reads samples through them while
 * promising little-endian output. All hosts Node ships for (x86-64, arm64, ...) are little-endian; a
 * big-endian host would silently produce swapped samples, so we refuse it once, loudly.
 */
export const HOST_IS_LITTLE_ENDIAN = endianness() === 'LE';

/**
 * Reverses the byte order of every `bytesPerSample`-byte sample in `bytes`, in place. Used to turn a
 * big-endian file's samples into little-endian ones (and back when writing one).
 */
export function swapInPlace(bytes: Uint8Array, bytesPerSample: number): void {
  const n = bytes.length - (bytes.length % bytesPerSample);
  switch (bytesPerSample) {
    case 1:
      return;
    case 2:
      if (bytes.byteOffset % 2 === 0) {
        // A 16-bit rotate on an aligned view is several times faster than shuffling bytes one by one.
        const u16 = new Uint16Array(bytes.buffer, bytes.byteOffset, n / 2);
        for (let i = 0; i < u16.length; i++) {
          const v = u16[i]!;
          u16[i] = (v >>> 8) | (v << 8);
        }
        return;
      }
      for (let i = 0; i < n; i += 2) {
        const a = bytes[i]!;
        bytes[i] = bytes[i + 1]!;
        bytes[i + 1] = a;
      }
      return;
    case 4:
      for (let i = 0; i < n; i += 4) {
        const a = bytes[i]!;
        const b = bytes[i + 1]!;
        bytes[i] = bytes[i + 3]!;
        bytes[i + 1] = bytes[i + 2]!;
        bytes[i + 2] = b;
        bytes[i + 3] = a;
      }
      return;
    case 8:
      for (let i = 0; i < n; i += 8) {
        for (let lo = i, hi = i + 7; lo < hi; lo++, hi--) {
          const a = bytes[lo]!;
          bytes[lo] = bytes[hi]!;
          bytes[hi] = a;
        }
      }
      return;
    default:
      throw new RangeError(`swapInPlace: bytesPerSample must be 1, 2, 4 or 8 (got ${bytesPerSample})`);
  }
}
