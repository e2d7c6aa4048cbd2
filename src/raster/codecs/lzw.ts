import { CorruptBlockError, UnsupportedCodecError } from './errors.js';

/**
 * TIFF LZW as libtiff writes and reads it ("new-style", TIFF 5.0+): codes are 9 to 12 bits, packed
 * most significant bit first; 256 clears the table, 257 ends the data; the first free code is 258; and
 * the code width grows one code early (libtiff follows Aldus here, not textbook LZW). The encoder
 * emits a Clear when the next free code would be 4094, exactly as libtiff does.
 */

const CLEAR = 256;
const EOI = 257;
const FIRST = 258;
const MAX_BITS = 12;
const TABLE_SIZE = 1 << MAX_BITS;

// Decoder table, shared by all calls (each runs to completion synchronously). Every string in an LZW
// table is (an earlier string) + one byte, and it has already been written to the output when its code
// is defined, so an entry is just the output offset and length of one earlier occurrence: decoding a
// code is a copy inside the output, with no prefix chains and no per-code allocation.
const entryOffset = new Int32Array(TABLE_SIZE);
const entryLength = new Int32Array(TABLE_SIZE);

/**
 * Decodes a TIFF LZW stream into at most `expected` bytes. Returns the decoded bytes: exactly
 * `expected` of them, or fewer when the stream ends (EOI or end of data) early; the caller decides
 * what a short block means. Output past `expected` is dropped, as libtiff does.
 *
 * Hostile input cannot make this loop forever (every iteration consumes at least 9 input bits) or
 * write out of bounds (every copy is clamped to `expected`). A code that is not yet in the table
 * throws {@link CorruptBlockError} naming `where`.
 */
export function lzwDecode(src: Uint8Array, expected: number, where: string): Uint8Array {
  if (src.length >= 2 && src[0] === 0 && (src[1]! & 1) === 1) {
    // libtiff's heuristic for the pre-5.0, LSB-first variant; such files predate 1990.
    throw new UnsupportedCodecError(where, 'old-style (LSB-first, pre-TIFF 5.0) LZW is not supported');
  }
  const out = new Uint8Array(expected);
  const inLen = src.length;
  let inPos = 0;
  let bitBuf = 0; // only the low `bitCount` bits are meaningful
  let bitCount = 0;
  let nbits = 9;
  let nextCode = FIRST;
  let pos = 0;
  let prevCode = -1; // -1: just after a Clear (or at the start), no entry to add
  let prevPos = 0;
  let prevLen = 0;

  while (pos < expected) {
    // Read one code; running out of bits counts as EOI, as in libtiff (which only warns).
    while (bitCount < nbits) {
      if (inPos >= inLen) return out.subarray(0, pos);
      bitBuf = (bitBuf << 8) | src[inPos++]!;
      bitCount += 8;
    }
    bitCount -= nbits;
    const code = (bitBuf >>> bitCount) & ((1 << nbits) - 1);

    if (code === EOI) break;
    if (code === CLEAR) {
      nbits = 9;
      nextCode = FIRST;
      prevCode = -1;
      continue;
    }

    const start = pos;
    if (code < 256) {
      out[pos++] = code;
    } else if (code < nextCode && prevCode !== -1) {
      const len = entryLength[code]!;
      const from = entryOffset[code]!;
      const n = Math.min(len, expected - pos);
      if (n > 24) {
        out.copyWithin(pos, from, from + n);
        pos += n;
      } else {
        for (let i = 0; i < n; i++) out[pos++] = out[from + i]!;
      }
    } else if (code === nextCode && prevCode !== -1) {
      // The KwKwK case: the code being defined right now is previous string + its own first byte.
      const n = Math.min(prevLen, expected - pos);
      for (let i = 0; i < n; i++) out[pos++] = out[prevPos + i]!;
      if (pos < expected) out[pos++] = out[prevPos]!;
    } else {
      throw new CorruptBlockError(
        where,
        prevCode === -1
          ? `LZW code ${code} follows a Clear code, where only a literal (0..255) may (input byte ${inPos})`
          : `LZW code ${code} is not in the table yet (next free code ${nextCode}, input byte ${inPos})`,
      );
    }

    if (prevCode !== -1 && nextCode < TABLE_SIZE) {
      // The new entry is the previous string plus this one's first byte, which sits right after it.
      entryOffset[nextCode] = prevPos;
      entryLength[nextCode] = prevLen + 1;
      nextCode++;
      // Early change: widen when the next free code reaches 2^nbits - 1, not 2^nbits.
      if (nextCode === (1 << nbits) - 1 && nbits < MAX_BITS) nbits++;
    }
    prevCode = code;
    prevPos = start;
    prevLen = pos - start;
  }
  return out.subarray(0, pos);
}

// Encoder hash table: key (prefix code << 8 | next byte) + 1 (0 marks an empty slot) → code. 16384
// slots keep the load under 25% for the 3836 entries a table holds, and fit in L1/L2 cache.
const HASH_BITS = 14;
const HASH_SIZE = 1 << HASH_BITS;
const HASH_MASK = HASH_SIZE - 1;
const hashKeys = new Int32Array(HASH_SIZE);
const hashCodes = new Uint16Array(HASH_SIZE);

/** Encodes bytes as a TIFF LZW stream that libtiff (and so GDAL) decodes. */
export function lzwEncode(src: Uint8Array): Uint8Array {
  const n = src.length;
  // Worst case: one code per input byte, all 12 bits, plus Clears (one per ~3836 codes) and EOI.
  const out = new Uint8Array(Math.ceil(((n + Math.ceil(n / 3000) + 4) * MAX_BITS) / 8) + 8);
  let op = 0;
  let bitBuf = 0;
  let bitCount = 0;
  let nbits = 9;
  let maxCode = (1 << nbits) - 1;
  let nextCode = FIRST;

  hashKeys.fill(0);
  // Codes are packed by hand below (not through a helper closure) because this loop is the hot path.
  bitBuf = CLEAR;
  bitCount = nbits;
  out[op++] = bitBuf >>> (bitCount -= 8);
  let ent = n === 0 ? -1 : src[0]!;
  for (let i = 1; i < n; i++) {
    const c = src[i]!;
    const key = ((ent << 8) | c) + 1;
    let h = (Math.imul(key, 0x9e3779b1) >>> (32 - HASH_BITS)) & HASH_MASK;
    let found = -1;
    for (;;) {
      const k = hashKeys[h]!;
      if (k === key) {
        found = hashCodes[h]!;
        break;
      }
      if (k === 0) break;
      h = (h + 1) & HASH_MASK;
    }
    if (found >= 0) {
      ent = found;
      continue;
    }
    bitBuf = (bitBuf << nbits) | ent;
    bitCount += nbits;
    while (bitCount >= 8) out[op++] = bitBuf >>> (bitCount -= 8);
    ent = c;
    hashKeys[h] = key;
    hashCodes[h] = nextCode++;
    if (nextCode === TABLE_SIZE - 2) {
      // libtiff's point for a full table: it emits Clear at the current width and starts over.
      bitBuf = (bitBuf << nbits) | CLEAR;
      bitCount += nbits;
      while (bitCount >= 8) out[op++] = bitBuf >>> (bitCount -= 8);
      hashKeys.fill(0);
      nextCode = FIRST;
      nbits = 9;
      maxCode = (1 << nbits) - 1;
    } else if (nextCode > maxCode) {
      nbits++;
      maxCode = (1 << nbits) - 1;
    }
  }
  const tail = ent === -1 ? [EOI] : [ent, EOI];
  for (const code of tail) {
    bitBuf = (bitBuf << nbits) | code;
    bitCount += nbits;
    while (bitCount >= 8) out[op++] = bitBuf >>> (bitCount -= 8);
  }
  if (bitCount > 0) out[op++] = bitBuf << (8 - bitCount);
  return out.slice(0, op);
}
