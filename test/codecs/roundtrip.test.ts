import { describe, expect, it } from 'vitest';
import { decodeBlock, decodeBlockSync, encodeBlock, encodeBlockSync } from '../../src/raster/codecs/index.js';
import { DTYPES, layoutFor, sameBytes, smoothSamples } from './helpers.js';

const ENCODERS = [
  { name: 'none', compression: 1 },
  { name: 'LZW', compression: 5 },
  { name: 'DEFLATE', compression: 8 },
  { name: 'DEFLATE (32946)', compression: 32946 },
  { name: 'ZSTD', compression: 50000 },
] as const;

/** Every encoder x sample type x predictor that fits it x 1 or 3 samples per pixel x byte order. */
const CASES = ENCODERS.flatMap((enc) =>
  DTYPES.flatMap((dtype) => {
    const predictors = enc.compression === 1 ? [1] : dtype.sampleFormat === 3 ? [1, 2, 3] : [1, 2];
    return predictors.flatMap((predictor) =>
      [1, 3].flatMap((spp) =>
        [true, false].map((littleEndian) => ({ enc, dtype, predictor, spp, littleEndian })),
      ),
    );
  }),
);

describe('encode then decode gives back the samples', () => {
  it.each(CASES.map((c) => [c.enc.name, c.dtype.name, c.predictor, c.spp, c.littleEndian ? 'LE' : 'BE', c] as const))(
    '%s %s predictor %i, %i sample(s) per pixel, %s file',
    async (_e, _d, _p, _s, _o, c) => {
      const layout = layoutFor(c.dtype, {
        compression: c.enc.compression,
        predictor: c.predictor,
        samplesPerPixel: c.spp,
        littleEndian: c.littleEndian,
      });
      const samples = smoothSamples(c.dtype, layout.width, layout.height, c.spp);
      const before = samples.slice();

      const encoded = encodeBlockSync(samples, layout);
      expect(sameBytes(samples, before)).toBe(true); // the caller's samples are not touched
      expect(sameBytes(await encodeBlock(samples, layout), encoded)).toBe(true);
      // Blocks own their buffers, so worker threads can transfer them without shipping anything else.
      expect(encoded.byteOffset).toBe(0);
      expect(encoded.buffer.byteLength).toBe(encoded.length);

      const decoded = decodeBlockSync(encoded, layout);
      expect(sameBytes(decoded, samples)).toBe(true);
      expect(sameBytes(await decodeBlock(encoded, layout), samples)).toBe(true);
      // The result owns its buffer, so typed-array views and transfers see only the block.
      expect(decoded.byteOffset).toBe(0);
      expect(decoded.buffer.byteLength).toBe(samples.length);
    },
  );

  it('predictors make smooth data smaller, which is their point', () => {
    const dtype = DTYPES[2]; // u16
    const plain = layoutFor(dtype, { compression: 8, width: 128, height: 64 });
    const samples = smoothSamples(dtype, 128, 64, 1);
    const without = encodeBlockSync(samples, plain).length;
    const withPredictor = encodeBlockSync(samples, { ...plain, predictor: 2 }).length;
    expect(withPredictor).toBeLessThan(without);
  });

  it('a big-endian block stores each sample most significant byte first', () => {
    const dtype = DTYPES[2]; // u16
    const layout = layoutFor(dtype, { compression: 1, width: 2, height: 1, littleEndian: false });
    const encoded = encodeBlockSync(Uint8Array.of(0x34, 0x12, 0x78, 0x56), layout);
    expect([...encoded]).toEqual([0x12, 0x34, 0x56, 0x78]);
  });

  it('the floating point predictor writes the same bytes for either byte order', () => {
    const dtype = DTYPES[5]; // f32
    const layout = layoutFor(dtype, { compression: 50000, predictor: 3, samplesPerPixel: 3 });
    const samples = smoothSamples(dtype, layout.width, layout.height, 3);
    const le = encodeBlockSync(samples, layout);
    const be = encodeBlockSync(samples, { ...layout, littleEndian: false });
    expect(sameBytes(le, be)).toBe(true);
  });

  it('half floats (2-byte SampleFormat 3) round-trip through every predictor that fits them', () => {
    const f16 = { name: 'f16', bytes: 2, sampleFormat: 3 } as const;
    const samples = smoothSamples(DTYPES[2], 33, 17, 3); // any 16-bit patterns will do
    for (const compression of [5, 8, 50000]) {
      for (const predictor of [1, 2, 3]) {
        for (const littleEndian of [true, false]) {
          const layout = layoutFor(f16, { compression, predictor, samplesPerPixel: 3, littleEndian });
          expect(sameBytes(decodeBlockSync(encodeBlockSync(samples, layout), layout), samples)).toBe(true);
        }
      }
    }
  });

  it('LZW round-trips blocks large enough to clear and refill the code table many times', () => {
    const dtype = DTYPES[0];
    for (const [seed, width, height] of [
      [1, 512, 512],
      [2, 1000, 3],
      [3, 1, 1],
    ] as const) {
      const layout = layoutFor(dtype, { compression: 5, width, height });
      const noisy = smoothSamples(dtype, width, height, 1, seed);
      expect(sameBytes(decodeBlockSync(encodeBlockSync(noisy, layout), layout), noisy)).toBe(true);
      const flat = new Uint8Array(width * height).fill(7);
      expect(sameBytes(decodeBlockSync(encodeBlockSync(flat, layout), layout), flat)).toBe(true);
    }
  });
});
