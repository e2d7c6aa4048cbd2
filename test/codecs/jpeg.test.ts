import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import encode, { init as initEncoder } from '@jsquash/jpeg/encode.js';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CodecError,
  CorruptBlockError,
  UnsupportedCodecError,
  decodeBlock,
  decodeBlockSync,
  loadCodecs,
  type BlockLayout,
} from '../../src/raster/codecs/index.js';
import { DTYPES, layoutFor, rng, sameBytes, smoothSamples } from './helpers.js';

/**
 * JPEG splicing, colour and damage handling that need no GDAL (gdal.test.ts compares pixels with
 * libtiff's). mozjpeg's encoder writes ordinary JFIF (or, for RGB, Adobe) files; we split their
 * DQT/DHT segments out into a JPEGTables-style stream, as libtiff does.
 */

const W = 24;
const H = 16;

/** mozjpeg's colour_space option: what the encoder stores. */
const STORE = { grey: 1, rgb: 2, ycbcr: 3 } as const;

/** A JPEG file of a smooth RGB image (grey: its first sample), stored as `store`, 4:2:0 unless `subsample` is 1. */
async function jpegFile(
  width: number,
  height: number,
  store: keyof typeof STORE,
  options: { subsample?: 1 | 2; progressive?: boolean } = {},
): Promise<Uint8Array> {
  const rgb = smoothSamples(DTYPES[0], width, height, 3);
  const rgba = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < width * height; i++) rgba.set([rgb[3 * i]!, rgb[3 * i + 1]!, rgb[3 * i + 2]!, 255], 4 * i);
  const bytes = await encode(
    { data: rgba, width, height, colorSpace: 'srgb' },
    {
      quality: 90,
      baseline: true,
      progressive: options.progressive ?? false,
      color_space: STORE[store],
      auto_subsample: false,
      chroma_subsample: options.subsample ?? 2,
    },
  );
  return new Uint8Array(bytes);
}

/** A JPEG file as (JPEGTables-style tables stream, abbreviated block), as libtiff writes them. */
function abbreviate(full: Uint8Array): { tables: Uint8Array; block: Uint8Array } {
  const tables: number[] = [0xff, 0xd8];
  const block: number[] = [0xff, 0xd8];
  let p = 2;
  while (p < full.length) {
    const marker = full[p + 1]!;
    if (marker === 0xda) {
      block.push(...full.subarray(p)); // the scan runs to EOI
      break;
    }
    const end = p + 2 + ((full[p + 2]! << 8) | full[p + 3]!);
    (marker === 0xdb || marker === 0xc4 ? tables : block).push(...full.subarray(p, end));
    p = end;
  }
  tables.push(0xff, 0xd9);
  return { tables: Uint8Array.from(tables), block: Uint8Array.from(block) };
}

/** `file` with a marker segment inserted right after SOI. */
function withSegment(file: Uint8Array, segment: number[]): Uint8Array {
  return Uint8Array.from([0xff, 0xd8, ...segment, ...file.subarray(2)]);
}

/** Where the first scan's entropy-coded data starts. */
function scanStart(file: Uint8Array): number {
  const sos = file.findIndex((_, i) => file[i] === 0xff && file[i + 1] === 0xda);
  return sos + 2 + ((file[sos + 2]! << 8) | file[sos + 3]!);
}

/** APP14 "Adobe", version 100, flags 0/0, then the transform flag (0 none, 1 YCbCr). */
const adobe = (transform: number): number[] => [0xff, 0xee, 0, 14, 0x41, 0x64, 0x6f, 0x62, 0x65, 0, 100, 0, 0, 0, 0, transform];

function layout(fields: Partial<BlockLayout> = {}): BlockLayout {
  return layoutFor(DTYPES[0], { compression: 7, width: W, height: H, samplesPerPixel: 3, photometric: 6, where: 'jpeg block', ...fields });
}

function worstDifference(a: Uint8Array, b: Uint8Array): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

beforeAll(async () => {
  const require = createRequire(import.meta.url);
  await initEncoder({ wasmBinary: readFileSync(require.resolve('@jsquash/jpeg/codec/enc/mozjpeg_enc.wasm')) });
  await loadCodecs();
});

describe('JPEG blocks', () => {
  let full: Uint8Array;
  beforeAll(async () => {
    full = await jpegFile(W, H, 'ycbcr');
  });

  it('splices the JPEGTables tag onto an abbreviated block', () => {
    const { tables, block } = abbreviate(full);
    const whole = decodeBlockSync(full, layout());
    expect(() => decodeBlockSync(block, layout())).toThrow(CorruptBlockError); // no tables, no Huffman codes
    expect(sameBytes(decodeBlockSync(block, layout({ jpegTables: tables })), whole)).toBe(true);
  });

  it('converts YCbCr to RGB close to the original pixels', () => {
    const worst = worstDifference(decodeBlockSync(full, layout()), smoothSamples(DTYPES[0], W, H, 3));
    expect(worst).toBeLessThan(40); // lossy, but clearly RGB and not YCbCr
  });

  it('gives the same bytes through the async and the sync entry points', async () => {
    expect(sameBytes(await decodeBlock(full, layout()), decodeBlockSync(full, layout()))).toBe(true);
  });

  it('reads colour from the Photometric tag, as libtiff does, not from JFIF or Adobe markers', async () => {
    const plain = decodeBlockSync(full, layout());
    // An Adobe marker saying "no transform" in a YCbCr block is overruled: still converted, once.
    expect(sameBytes(decodeBlockSync(withSegment(full, adobe(0)), layout()), plain)).toBe(true);
    expect(sameBytes(decodeBlockSync(withSegment(full, adobe(1)), layout()), plain)).toBe(true);

    // An RGB block (Photometric 2) is never converted, though this one is stored as JFIF YCbCr: we get
    // Y, Cb, Cr back, which converted by the JFIF formulas give the RGB that Photometric 6 gives.
    const full444 = await jpegFile(W, H, 'ycbcr', { subsample: 1 });
    const ycc = decodeBlockSync(full444, layout({ photometric: 2 }));
    const rgb = decodeBlockSync(full444, layout());
    const converted = new Uint8Array(ycc.length);
    const clamp = (v: number): number => Math.min(255, Math.max(0, Math.round(v)));
    for (let i = 0; i < ycc.length; i += 3) {
      const [y, cb, cr] = [ycc[i]!, ycc[i + 1]! - 128, ycc[i + 2]! - 128];
      converted.set([clamp(y + 1.402 * cr), clamp(y - 0.344136 * cb - 0.714136 * cr), clamp(y + 1.772 * cb)], i);
    }
    expect(worstDifference(converted, rgb)).toBeLessThanOrEqual(1); // libjpeg's fixed point vs these floats
    expect(worstDifference(ycc, rgb)).toBeGreaterThan(20);

    // And an RGB-stored stream (Adobe, transform 0) stays RGB under Photometric 2, with or without a JFIF marker.
    const stored = await jpegFile(W, H, 'rgb');
    const asRgb = decodeBlockSync(stored, layout({ photometric: 2 }));
    expect(worstDifference(asRgb, smoothSamples(DTYPES[0], W, H, 3))).toBeLessThan(40);
    const jfif = [0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0];
    expect(sameBytes(decodeBlockSync(withSegment(stored, jfif), layout({ photometric: 2 })), asRgb)).toBe(true);
  });

  it('decodes a grey block to one sample per pixel', async () => {
    const grey = await jpegFile(W, H, 'grey');
    const got = decodeBlockSync(grey, layout({ samplesPerPixel: 1, photometric: 1 }));
    expect(got.length).toBe(W * H);
    // Grey is the encoder's luma of the RGB image, so compare with that.
    const rgb = smoothSamples(DTYPES[0], W, H, 3);
    const luma = Uint8Array.from({ length: W * H }, (_, i) => Math.round(0.299 * rgb[3 * i]! + 0.587 * rgb[3 * i + 1]! + 0.114 * rgb[3 * i + 2]!));
    expect(worstDifference(got, luma)).toBeLessThan(40);
  });

  it('keeps the rows a short last strip has, and refuses a narrower or far taller frame', () => {
    const whole = decodeBlockSync(full, layout());
    const top = decodeBlockSync(full, layout({ height: 5 }));
    expect(sameBytes(top, whole.subarray(0, W * 5 * 3))).toBe(true);
    expect(() => decodeBlockSync(full, layout({ width: W + 8 }))).toThrow(/JPEG stream is 24x16 pixels, but the block is 32x16/);
    expect(() => decodeBlockSync(full, layout({ height: H + 1 }))).toThrow(CorruptBlockError);
    // A header claiming 1024x65535 pixels for a 1024x16 block is refused before anything is decoded.
    const sof = full.findIndex((_, i) => full[i] === 0xff && full[i + 1] === 0xc0);
    const huge = full.slice();
    huge.set([0xff, 0xff, 0x04, 0x00], sof + 5);
    expect(() => decodeBlockSync(huge, layout({ width: 1024 }))).toThrow(/JPEG stream is 1024x65535 pixels, but the block is 1024x16/);
  });

  it('needs as many components as samples, 8-bit samples, and SOI', () => {
    expect(() => decodeBlockSync(full, layout({ samplesPerPixel: 1 }))).toThrow(/3 component\(s\), but the block has 1/);
    expect(() => decodeBlockSync(full, layoutFor(DTYPES[2], { compression: 7, width: W, height: H }))).toThrow(UnsupportedCodecError);
    expect(() => decodeBlockSync(full.subarray(2), layout())).toThrow(/does not start with an SOI marker/);
    expect(() => decodeBlockSync(full, layout({ samplesPerPixel: 4 }))).toThrow(/4 samples per pixel are not supported/);
  });

  it('refuses 12-bit and lossless JPEG by name', () => {
    const sof = full.findIndex((_, i) => full[i] === 0xff && full[i + 1] === 0xc0);
    const twelve = full.slice();
    twelve[sof + 4] = 12;
    expect(() => decodeBlockSync(twelve, layout())).toThrow(/12-bit JPEG is not supported/);
    const lossless = full.slice();
    lossless[sof + 1] = 0xc3;
    expect(() => decodeBlockSync(lossless, layout())).toThrow(/SOF3 is not supported/);
  });

  it('refuses a stream of 100 scans or more before decoding, as libtiff does', () => {
    const sos = full.findIndex((_, i) => full[i] === 0xff && full[i + 1] === 0xda);
    const scan = full.subarray(sos, full.length - 2);
    const stream = (copies: number): Uint8Array => Uint8Array.from([...full.subarray(0, sos), ...Array.from({ length: copies }, () => [...scan]).flat(), 0xff, 0xd9]);
    expect(() => decodeBlockSync(stream(100), layout())).toThrow(/JPEG stream has 100 or more scans/);
    // 99 get as far as libjpeg, which wants no second scan in a baseline stream.
    expect(() => decodeBlockSync(stream(99), layout())).toThrow(/libjpeg says/);
  });

  it('names the block and quotes libjpeg when libjpeg gives up', () => {
    const bad = full.slice();
    bad.set([0xff, 0xc4, 0, 3, 0x77], scanStart(full) - 40); // a DHT segment in the middle of the headers, too short
    try {
      decodeBlockSync(bad, layout());
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(CorruptBlockError);
      expect((err as Error).message).toMatch(/^jpeg block: JPEG stream is corrupt: libjpeg says "[^"]+"$/);
    }
  });
});

describe('damaged JPEG blocks end in a typed error or a block, and the next block still decodes exactly', () => {
  const WIDTH = 64;
  const HEIGHT = 48;
  const big = (fields: Partial<BlockLayout> = {}): BlockLayout => layout({ width: WIDTH, height: HEIGHT, ...fields });

  /** Decodes `data` both ways; each must give a full block or a CodecError naming the block. */
  async function survive(data: Uint8Array, at: BlockLayout): Promise<'ok' | 'error'> {
    let outcome: 'ok' | 'error' = 'ok';
    for (const run of [() => Promise.resolve(decodeBlockSync(data, at)), () => decodeBlock(data, at)]) {
      try {
        expect((await run()).length).toBe(at.width * at.height * at.samplesPerPixel);
      } catch (err) {
        if (!(err instanceof CodecError)) throw err;
        expect(err.message.startsWith(at.where)).toBe(true);
        outcome = 'error';
      }
    }
    return outcome;
  }

  it.each([
    ['baseline', false],
    ['progressive', true],
  ])('%s: 400 seeded truncations and byte flips in the headers and the entropy data', async (_name, progressive) => {
    const full = await jpegFile(WIDTH, HEIGHT, 'ycbcr', { progressive });
    const { tables, block } = abbreviate(full);
    const good = big({ jpegTables: tables });
    const want = decodeBlockSync(block, good);
    const entropy = scanStart(block);
    const random = rng(progressive ? 2 : 1);
    let errors = 0;
    for (let trial = 0; trial < 400; trial++) {
      let data = block.slice();
      const jpegTables = tables.slice();
      const flip = (bytes: Uint8Array, from: number, to: number): void => {
        bytes[from + Math.floor(random() * (to - from))]! ^= 1 + Math.floor(random() * 255);
      };
      switch (trial % 4) {
        case 0: // cut short anywhere
          data = data.subarray(0, 2 + Math.floor(random() * (data.length - 2)));
          break;
        case 1: // flips in the entropy-coded data
          for (let k = 0; k < 1 + Math.floor(random() * 4); k++) flip(data, entropy, data.length);
          break;
        case 2: // a flip in the block's headers (SOF, SOS)
          flip(data, 2, entropy);
          break;
        case 3: // a flip in the tables (DQT, DHT)
          flip(jpegTables, 2, jpegTables.length - 2);
          break;
      }
      if ((await survive(data, big({ jpegTables, where: `trial ${trial}` }))) === 'error') errors++;
      // Whatever the damage did to the decoder, the next good block decodes to the very same bytes.
      expect(sameBytes(decodeBlockSync(block, good), want)).toBe(true);
    }
    expect(errors).toBeGreaterThan(50);
    expect(sameBytes(await decodeBlock(block, good), want)).toBe(true);
  });

  it('survives every single-byte corruption of a block with a typed error or a block', async () => {
    const full = await jpegFile(W, H, 'ycbcr');
    const want = decodeBlockSync(full, layout());
    for (let i = 0; i < full.length; i++) {
      const bad = full.slice();
      bad[i] = bad[i]! ^ 0xa5;
      await survive(bad, layout());
    }
    expect(sameBytes(decodeBlockSync(full, layout()), want)).toBe(true);
  });

  it('survives hundreds of failures in a row', async () => {
    // Each libjpeg failure leaks heap and C stack in the WebAssembly instance; one instance reused
    // without care dies ("null function") after about 70 of these.
    const bad = Uint8Array.of(0xff, 0xd8, 0xff, 0xc0, 0, 11, 8, 0, H, 0, W, 1, 1, 0x11, 0, 0xff, 0xda, 0, 2, 0xff, 0xd9);
    const grey = layout({ samplesPerPixel: 1, photometric: 1 });
    for (let i = 0; i < 300; i++) expect(() => decodeBlockSync(bad, grey)).toThrow(/JPEG stream is corrupt: libjpeg says/);
    const good = await jpegFile(W, H, 'grey');
    const want = decodeBlockSync(good, grey);
    for (let i = 0; i < 300; i++) expect(() => decodeBlockSync(bad, grey)).toThrow(CorruptBlockError);
    expect(sameBytes(decodeBlockSync(good, grey), want)).toBe(true);
  });
});
