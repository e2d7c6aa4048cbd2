import jpeg from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { CodecError, CorruptBlockError, UnsupportedCodecError, decodeBlockSync, type BlockLayout } from '../../src/raster/codecs/index.js';
import { DTYPES, layoutFor, smoothSamples } from './helpers.js';

/**
 * JPEG splicing and checks that need no GDAL (gdal.test.ts compares pixels with libjpeg's). jpeg-js
 * writes an ordinary JFIF file; we split its DQT/DHT segments out into a JPEGTables-style stream, as
 * libtiff does, and check the abbreviated block decodes the same.
 */

const W = 24;
const H = 16;

/** A full JPEG of a smooth RGB image, and the same as (tables stream, abbreviated block). */
function jpegBlock(): { full: Uint8Array; tables: Uint8Array; block: Uint8Array } {
  const rgb = smoothSamples(DTYPES[0], W, H, 3);
  const rgba = new Uint8Array(W * H * 4);
  for (let i = 0; i < W * H; i++) rgba.set([rgb[3 * i]!, rgb[3 * i + 1]!, rgb[3 * i + 2]!, 255], 4 * i);
  const full = Uint8Array.from(jpeg.encode({ width: W, height: H, data: rgba }, 90).data);
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
  return { full, tables: Uint8Array.from(tables), block: Uint8Array.from(block) };
}

function layout(fields: Partial<BlockLayout> = {}): BlockLayout {
  return layoutFor(DTYPES[0], { compression: 7, width: W, height: H, samplesPerPixel: 3, photometric: 6, where: 'jpeg block', ...fields });
}

describe('JPEG blocks', () => {
  const { full, tables, block } = jpegBlock();

  it('splices the JPEGTables tag onto an abbreviated block', () => {
    const whole = decodeBlockSync(full, layout());
    expect(() => decodeBlockSync(block, layout())).toThrow(CorruptBlockError); // no tables, no Huffman codes
    expect(Buffer.compare(decodeBlockSync(block, layout({ jpegTables: tables })), whole)).toBe(0);
  });

  it('converts YCbCr to RGB close to the original pixels', () => {
    const got = decodeBlockSync(full, layout());
    const want = smoothSamples(DTYPES[0], W, H, 3);
    let worst = 0;
    for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
    expect(worst).toBeLessThan(40); // lossy, but clearly RGB and not YCbCr
  });

  it('converts colour once, even when an Adobe marker asks jpeg-js to convert too', () => {
    // APP14 "Adobe", version 100, flags 0/0, transform 1 (YCbCr), inserted after SOI.
    const adobe = [0xff, 0xee, 0, 14, 0x41, 0x64, 0x6f, 0x62, 0x65, 0, 100, 0, 0, 0, 0, 1];
    const marked = Uint8Array.from([0xff, 0xd8, ...adobe, ...full.subarray(2)]);
    const plain = decodeBlockSync(full, layout());
    const got = decodeBlockSync(marked, layout());
    let worst = 0;
    for (let i = 0; i < plain.length; i++) worst = Math.max(worst, Math.abs(got[i]! - plain[i]!));
    expect(worst).toBeLessThanOrEqual(2); // jpeg-js's float conversion vs libjpeg's fixed point
  });

  it('keeps the rows a short last strip has, and refuses a narrower frame', () => {
    const whole = decodeBlockSync(full, layout());
    const top = decodeBlockSync(full, layout({ height: 5 }));
    expect(Buffer.compare(top, whole.subarray(0, W * 5 * 3))).toBe(0);
    expect(() => decodeBlockSync(full, layout({ width: W + 8 }))).toThrow(/JPEG stream is 24x16 pixels, but the block is 32x16/);
    expect(() => decodeBlockSync(full, layout({ height: H + 1 }))).toThrow(CorruptBlockError);
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

  it('survives every single-byte corruption of a block with a typed error or a block', () => {
    for (let i = 0; i < full.length; i++) {
      const bad = full.slice();
      bad[i] = bad[i]! ^ 0xa5;
      try {
        expect(decodeBlockSync(bad, layout()).length).toBe(W * H * 3);
      } catch (err) {
        expect(err).toBeInstanceOf(CodecError);
      }
    }
  });
});
