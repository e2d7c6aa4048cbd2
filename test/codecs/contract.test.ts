import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DataboxError } from '../../src/errors.js';
import {
  BlockLayoutError,
  Compression,
  UnsupportedCodecError,
  compressionName,
  decodeBlock,
  decodeBlockSync,
  encodeBlock,
  encodeBlockSync,
  type EncodeSettings,
} from '../../src/raster/codecs/index.js';
import { deflateOptions } from '../../src/raster/codecs/deflate.js';
import { DTYPES, layoutFor, sameBytes, smoothSamples } from './helpers.js';

const u8 = DTYPES[0];
const u16 = DTYPES[2];
const i32 = DTYPES[3];
const f32 = DTYPES[5];
const WHERE = 's3://bucket/scene.tif: tile 3,4 of IFD 0';

describe('the codec contract', () => {
  it('names an unsupported compression, what we support, and the block', async () => {
    const layout = layoutFor(u8, { compression: 34925, where: WHERE });
    const expected = `${WHERE}: LZMA (34925) is not supported; supported compressions: none (1), LZW (5), JPEG (7), DEFLATE (8, 32946), PackBits (32773), LERC (34887), ZSTD (50000)`;
    expect(() => decodeBlockSync(new Uint8Array(4), layout)).toThrow(expected);
    await expect(decodeBlock(new Uint8Array(4), layout)).rejects.toThrow(UnsupportedCodecError);
    expect(() => decodeBlockSync(new Uint8Array(4), { ...layout, compression: 4242 })).toThrow(/unknown compression 4242 is not supported/);
  });

  it('refuses old-style JPEG (6) clearly instead of guessing', () => {
    const layout = layoutFor(u8, { compression: Compression.OJpeg, where: WHERE });
    expect(() => decodeBlockSync(new Uint8Array(4), layout)).toThrow(/old-style JPEG \(6\) is obsolete/);
  });

  it('marks its errors as typed, coded and not retryable', () => {
    try {
      decodeBlockSync(new Uint8Array(4), layoutFor(u8, { compression: 2, where: WHERE }));
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(DataboxError);
      expect(err).toMatchObject({ code: 'ERR_CODEC_UNSUPPORTED', where: WHERE, retryable: false });
    }
  });

  it.each([
    ['width', { width: 0 }, /layout\.width must be a positive integer \(got 0\)/],
    ['height', { height: 2.5 }, /layout\.height must be a positive integer \(got 2\.5\)/],
    ['samplesPerPixel', { samplesPerPixel: -1 }, /layout\.samplesPerPixel must be a positive integer/],
    ['bytesPerSample', { bytesPerSample: 3 }, /layout\.bytesPerSample must be 1, 2, 4 or 8 \(got 3\)/],
    ['sampleFormat', { sampleFormat: 4 }, /layout\.sampleFormat must be 1 \(uint\), 2 \(int\) or 3 \(float\) \(got 4\)/],
    ['predictor', { predictor: 4 }, /layout\.predictor must be 1 \(none\), 2 \(horizontal\) or 3 \(floating point\) \(got 4\)/],
    ['size', { width: 2 ** 20, height: 2 ** 20 }, /larger than the \d+-byte limit/],
  ] as const)('validates layout.%s, naming the field and value', (_field, fields, message) => {
    const layout = layoutFor(u8, { compression: 1, where: WHERE, ...fields });
    expect(() => decodeBlockSync(new Uint8Array(4), layout)).toThrow(message);
    expect(() => encodeBlockSync(new Uint8Array(4), layout)).toThrow(message);
  });

  it('allows the floating point predictor only on float samples, as libtiff does', () => {
    const layout = layoutFor(i32, { compression: 8, predictor: 3, where: WHERE });
    expect(() => decodeBlockSync(new Uint8Array(4), layout)).toThrow(/predictor 3 \(floating point\) needs float samples/);
    expect(() => encodeBlockSync(new Uint8Array(layout.width * layout.height * 4), layout)).toThrow(UnsupportedCodecError);
  });

  it('ignores the predictor on codecs libtiff does not pair with one (none, PackBits)', () => {
    const layout = layoutFor(u16, { compression: 1, predictor: 2, width: 2, height: 1 });
    expect([...decodeBlockSync(Uint8Array.of(1, 0, 1, 0), layout)]).toEqual([1, 0, 1, 0]);
  });

  it('will not write a predictor into an uncompressed block, which GDAL would misread', () => {
    const layout = layoutFor(u16, { compression: 1, predictor: 2 });
    expect(() => encodeBlockSync(new Uint8Array(layout.width * layout.height * 2), layout)).toThrow(/libtiff ignores it on uncompressed blocks/);
  });

  it('encodes only none, LZW, DEFLATE and ZSTD', async () => {
    const layout = layoutFor(u8, { compression: Compression.PackBits, where: WHERE });
    const samples = new Uint8Array(layout.width * layout.height);
    expect(() => encodeBlockSync(samples, layout)).toThrow(`${WHERE}: cannot encode PackBits (32773); supported: none (1), LZW (5), DEFLATE (8, 32946), ZSTD (50000)`);
    await expect(encodeBlock(samples, { ...layout, compression: Compression.Jpeg })).rejects.toThrow(UnsupportedCodecError);
  });

  it('checks the sample count before encoding', () => {
    const layout = layoutFor(u16, { compression: 8, width: 4, height: 2 });
    expect(() => encodeBlockSync(new Uint8Array(15), layout)).toThrow(BlockLayoutError);
    expect(() => encodeBlockSync(new Uint8Array(15), layout)).toThrow(/samples hold 15 bytes, but 4x2 pixels x 1 samples x 2 bytes need 16/);
  });

  it.each([
    ['DEFLATE', 8, 0],
    ['DEFLATE', 8, 10],
    ['ZSTD', 50000, 23],
    ['ZSTD', 50000, 1.5],
  ] as const)('refuses %s level %s by name', (name, compression, level) => {
    const layout = { ...layoutFor(u8, { compression }), level };
    expect(() => encodeBlockSync(new Uint8Array(layout.width * layout.height), layout)).toThrow(`layout.level for ${name}`);
  });

  it('uses the level: higher DEFLATE and ZSTD levels do not make bigger blocks here', () => {
    const base = layoutFor(u16, { compression: 8, width: 128, height: 64, predictor: 2 });
    const samples = smoothSamples(u16, 128, 64, 1);
    const plain = { ...base, predictor: 1 };
    expect(encodeBlockSync(samples, { ...plain, level: 9 }).length).toBeLessThanOrEqual(encodeBlockSync(samples, { ...plain, level: 1 }).length);
    expect(encodeBlockSync(samples, { ...base, level: 9 }).length).toBeLessThanOrEqual(encodeBlockSync(samples, { ...base, level: 7 }).length);
    const z = { ...base, compression: 50000 };
    expect(encodeBlockSync(samples, { ...z, level: 19 }).length).toBeLessThanOrEqual(encodeBlockSync(samples, { ...z, level: 1 }).length);
  });

  it('keeps run-length matching for the fast strategy only: up to level 6 on predicted blocks', () => {
    const u16Block = { predicted: true, bytesPerSample: 2 };
    expect(deflateOptions(6, u16Block, 'fast').strategy).toBe(zlib.constants.Z_RLE);
    expect(deflateOptions(7, u16Block, 'fast').strategy).toBe(zlib.constants.Z_DEFAULT_STRATEGY);
    expect(deflateOptions(1, { ...u16Block, predicted: false }, 'fast').strategy).toBe(zlib.constants.Z_DEFAULT_STRATEGY);
    expect(deflateOptions(6, u16Block).strategy).toBe(zlib.constants.Z_DEFAULT_STRATEGY);
    expect(deflateOptions(6, { predicted: true, bytesPerSample: 1 }).strategy).toBe(zlib.constants.Z_FILTERED);
    const layout = layoutFor(u16, { compression: 8, width: 128, height: 64, predictor: 2 });
    const samples = smoothSamples(u16, 128, 64, 1);
    for (const deflateStrategy of ['default', 'fast'] as const) {
      for (const level of [1, 6, 7, 9]) {
        expect(sameBytes(decodeBlockSync(encodeBlockSync(samples, { ...layout, level, deflateStrategy }), layout), samples)).toBe(true);
      }
    }
  });

  it('names a bad DEFLATE strategy and the block', () => {
    const layout = layoutFor(u16, { compression: 8, width: 128, height: 64, predictor: 2 });
    const samples = smoothSamples(u16, 128, 64, 1);
    const bad = { ...layout, deflateStrategy: 'turbo' } as unknown as EncodeSettings;
    expect(() => encodeBlockSync(samples, bad)).toThrow(/^test block \(u16\): layout\.deflateStrategy must be 'default' or 'fast' \(got 'turbo'\)/);
  });

  it('reads DEFLATE blocks tagged with the obsolete code 32946', () => {
    const layout = layoutFor(f32, { compression: 8, predictor: 3 });
    const samples = smoothSamples(f32, layout.width, layout.height, 1);
    const block = encodeBlockSync(samples, layout);
    expect(sameBytes(decodeBlockSync(block, { ...layout, compression: 32946 }), samples)).toBe(true);
  });

  it('does not modify the block bytes it decodes', () => {
    const layout = layoutFor(u16, { compression: 1, littleEndian: false });
    const data = smoothSamples(u16, layout.width, layout.height, 1);
    const copy = data.slice();
    decodeBlockSync(data, layout);
    expect(sameBytes(data, copy)).toBe(true);
  });

  it('names compressions for other modules’ messages', () => {
    expect(compressionName(5)).toBe('LZW (5)');
    expect(compressionName(50001)).toBe('WebP (50001)');
    expect(compressionName(9)).toBe('unknown compression 9');
  });
});
