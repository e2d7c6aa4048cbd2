import { deflateSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { DataboxError } from '../../src/errors.js';
import {
  CodecError,
  CorruptBlockError,
  UnsupportedCodecError,
  decodeBlock,
  decodeBlockSync,
  encodeBlockSync,
  loadCodecs,
  type BlockLayout,
} from '../../src/raster/codecs/index.js';
import { DTYPES, layoutFor, rng, sameBytes, smoothSamples } from './helpers.js';

/** Packs codes MSB-first at the given widths, as a TIFF LZW stream does. */
function lzwCodes(codes: [code: number, bits: number][]): Uint8Array {
  const out: number[] = [];
  let acc = 0;
  let n = 0;
  for (const [code, bits] of codes) {
    acc = (acc << bits) | code;
    n += bits;
    while (n >= 8) {
      n -= 8;
      out.push((acc >>> n) & 255);
    }
  }
  if (n > 0) out.push((acc << (8 - n)) & 255);
  return Uint8Array.from(out);
}

const u8 = DTYPES[0];
const u16 = DTYPES[2];

/** Decodes, requiring either a block of the right size or one of our typed errors. */
async function decodeOrCodecError(data: Uint8Array, layout: BlockLayout): Promise<'ok' | 'error'> {
  const expected = layout.width * layout.height * layout.samplesPerPixel * layout.bytesPerSample;
  let outcome: 'ok' | 'error' = 'ok';
  for (const run of [() => Promise.resolve(decodeBlockSync(data, layout)), () => decodeBlock(data, layout)]) {
    try {
      expect((await run()).length).toBe(expected);
    } catch (err) {
      if (!(err instanceof CodecError)) throw err;
      expect(err).toBeInstanceOf(DataboxError);
      expect(err.message.startsWith(layout.where)).toBe(true);
      expect(err.retryable).toBe(false);
      outcome = 'error';
    }
  }
  return outcome;
}

describe('hostile and damaged blocks end in a typed error or a bounded block, never a hang or crash', () => {
  beforeAll(async () => {
    await loadCodecs();
  });

  const CODECS = [
    ['LZW', 5],
    ['PackBits', 32773],
    ['DEFLATE', 8],
    ['ZSTD', 50000],
    ['LERC', 34887],
    ['JPEG', 7],
    ['none', 1],
  ] as const;

  it.each(CODECS)('%s: 300 seeded random inputs', async (_name, compression) => {
    for (let seed = 1; seed <= 300; seed++) {
      const random = rng(seed * 7919 + compression);
      const data = new Uint8Array(Math.floor(random() * 3000));
      for (let i = 0; i < data.length; i++) data[i] = Math.floor(random() * 256);
      if (compression === 7 && seed % 2 === 0 && data.length > 2) data.set([0xff, 0xd8]); // get past the SOI check
      const width = 1 + Math.floor(random() * 64);
      const height = 1 + Math.floor(random() * 64);
      await decodeOrCodecError(data, layoutFor(seed % 3 === 0 && compression !== 7 ? u16 : u8, { compression, width, height, where: `random ${seed}` }));
    }
  });

  it.each([
    ['LZW', 5],
    ['DEFLATE', 8],
    ['ZSTD', 50000],
  ] as const)('%s: truncated and bit-flipped real blocks', async (_name, compression) => {
    const layout = layoutFor(u16, { compression, predictor: 2, width: 64, height: 48 });
    const samples = smoothSamples(u16, 64, 48, 1);
    const good = encodeBlockSync(samples, layout);
    const random = rng(compression);
    let errors = 0;
    for (let trial = 0; trial < 200; trial++) {
      const cut = Math.floor(random() * good.length);
      if ((await decodeOrCodecError(good.subarray(0, cut), layout)) === 'error') errors++;
      const flipped = good.slice();
      flipped[Math.floor(random() * flipped.length)]! ^= 1 << Math.floor(random() * 8);
      await decodeOrCodecError(flipped, layout);
    }
    // Cutting a block short loses samples, which must be reported, not padded.
    expect(errors).toBeGreaterThan(150);
  });

  describe('LZW', () => {
    const layout = layoutFor(u8, { compression: 5, width: 4, height: 1, where: 'f.tif: tile 0,0' });

    it('reads a hand-made stream with a KwKwK code (one defined by its own use)', () => {
      // Clear, 'a', 258 (= 'aa', not yet in the table when read), EOI → "aaa" then 'b'.
      const data = lzwCodes([
        [256, 9],
        [97, 9],
        [258, 9],
        [98, 9],
        [257, 9],
      ]);
      expect([...decodeBlockSync(data, layout)]).toEqual([97, 97, 97, 98]);
    });

    it('rejects a code beyond the next free entry, naming the block', () => {
      const data = lzwCodes([
        [256, 9],
        [97, 9],
        [300, 9],
        [257, 9],
      ]);
      expect(() => decodeBlockSync(data, layout)).toThrow(CorruptBlockError);
      expect(() => decodeBlockSync(data, layout)).toThrow(/^f\.tif: tile 0,0: LZW code 300 is not in the table yet/);
    });

    it('rejects a table code straight after a Clear', () => {
      const data = lzwCodes([
        [256, 9],
        [258, 9],
      ]);
      expect(() => decodeBlockSync(data, layout)).toThrow(/LZW code 258 follows a Clear code/);
    });

    it('reports a block that ends early, by how much', () => {
      const data = lzwCodes([
        [256, 9],
        [97, 9],
        [257, 9],
      ]);
      expect(() => decodeBlockSync(data, layout)).toThrow(/decodes to 1 bytes, .* need 4 \(short by 3\)/);
    });

    it('survives a stream of nothing but Clear codes', () => {
      const data = lzwCodes(new Array(1000).fill([256, 9]) as [number, number][]);
      expect(() => decodeBlockSync(data, layout)).toThrow(CorruptBlockError);
    });

    it('accepts a full block without EOI and drops output past the block, as libtiff does', () => {
      const noEoi = lzwCodes([
        [256, 9],
        [1, 9],
        [2, 9],
        [3, 9],
        [4, 9],
        [5, 9],
        [6, 9],
      ]);
      expect([...decodeBlockSync(noEoi, layout)]).toEqual([1, 2, 3, 4]);
    });

    it('refuses old-style (LSB-first) LZW by name', () => {
      expect(() => decodeBlockSync(Uint8Array.of(0, 1, 2, 3), layout)).toThrow(UnsupportedCodecError);
      expect(() => decodeBlockSync(Uint8Array.of(0, 1, 2, 3), layout)).toThrow(/old-style/);
    });
  });

  describe('PackBits', () => {
    const layoutOf = (width: number): BlockLayout => layoutFor(u8, { compression: 32773, width, height: 1 });

    it("decodes Apple's example", () => {
      const data = Uint8Array.from([0xfe, 0xaa, 0x02, 0x80, 0x00, 0x2a, 0xfd, 0xaa, 0x03, 0x80, 0x00, 0x2a, 0x22, 0xf7, 0xaa]);
      const want = [0xaa, 0xaa, 0xaa, 0x80, 0x00, 0x2a, 0xaa, 0xaa, 0xaa, 0xaa, 0x80, 0x00, 0x2a, 0x22];
      want.push(...new Array<number>(10).fill(0xaa));
      expect([...decodeBlockSync(data, layoutOf(want.length))]).toEqual(want);
    });

    it('skips the no-op header 128 and clamps runs that overflow the block', () => {
      expect([...decodeBlockSync(Uint8Array.of(0x80, 0x81, 7), layoutOf(3))]).toEqual([7, 7, 7]);
    });

    it('reports a literal run cut short by the end of the data', () => {
      expect(() => decodeBlockSync(Uint8Array.of(5, 1, 2), layoutOf(6))).toThrow(/short by 4/);
    });
  });

  describe('DEFLATE tolerance, like libtiff', () => {
    const layout = layoutFor(u8, { compression: 8, width: 100, height: 10 });
    const samples = smoothSamples(u8, 100, 10, 1);
    const stream = deflateSync(samples);

    it('ignores bytes after the end of the stream', () => {
      const padded = Uint8Array.from([...stream, 1, 2, 3, 4, 5]);
      expect(sameBytes(decodeBlockSync(padded, layout), samples)).toBe(true);
    });

    it('reads a stream that lacks its Adler-32 trailer', () => {
      expect(sameBytes(decodeBlockSync(stream.subarray(0, stream.length - 4), layout), samples)).toBe(true);
    });

    it('keeps the first block-full of a stream that inflates to more (a padded last strip)', async () => {
      const longer = deflateSync(Uint8Array.from([...samples, ...samples, ...samples]));
      expect(sameBytes(decodeBlockSync(longer, layout), samples)).toBe(true);
      expect(sameBytes(await decodeBlock(longer, layout), samples)).toBe(true);
    });

    it('refuses a stream that inflates to far more than the block (a compression bomb)', async () => {
      const bomb = deflateSync(new Uint8Array(1000 * 17 + 70000));
      expect(() => decodeBlockSync(bomb, layout)).toThrow(/inflates to more than/);
      await expect(decodeBlock(bomb, layout)).rejects.toThrow(CorruptBlockError);
    });

    it('wraps zlib errors with the block and the cause', () => {
      try {
        decodeBlockSync(Uint8Array.of(1, 2, 3, 4), layout);
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(CorruptBlockError);
        expect((err as Error).message).toMatch(/^test block \(u8\): DEFLATE stream is corrupt: /);
        expect((err as Error).cause).toBeInstanceOf(Error);
      }
    });
  });

  describe('ZSTD tolerance, like libtiff', () => {
    const layout = layoutFor(u8, { compression: 50000, width: 100, height: 10 });
    const samples = smoothSamples(u8, 100, 10, 1);
    const frame = encodeBlockSync(samples, layout);

    it('ignores bytes after the frame and keeps the first block-full of a longer one', () => {
      expect(sameBytes(decodeBlockSync(Uint8Array.from([...frame, 9, 9, 9]), layout), samples)).toBe(true);
      const longer = encodeBlockSync(Uint8Array.from([...samples, ...samples]), { ...layout, height: 20 });
      expect(sameBytes(decodeBlockSync(longer, layout), samples)).toBe(true);
    });

    it('does not trust a frame header that claims a huge size', () => {
      // A frame header declaring 2^40 bytes of content: we only ever allocate the block.
      const header = Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0xc0, 0, 0, 0, 0, 0, 1, 0, 0);
      expect(() => decodeBlockSync(header, layout)).toThrow(CorruptBlockError);
    });
  });
});
