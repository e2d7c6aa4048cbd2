import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CorruptBlockError, decodeBlock, decodeBlockSync, loadCodecs, type BlockLayout } from '../../src/raster/codecs/index.js';

/**
 * LERC tiles as GDAL 3.6 writes them, with the pixels GDAL reads from them, checked in as
 * fixtures/lerc-blobs.json (made by make-lerc-blobs.py) so these run without GDAL.
 */

interface Blob {
  name: string;
  kind: 'uint8' | 'uint16' | 'float32';
  samples: number;
  littleEndian: boolean;
  lercParameters: number[];
  blob: string;
  /** GDAL's pixels (or, where GDAL cannot read the file, the ones written), pixel-interleaved, little-endian. */
  expected: string;
  expectedFrom: string;
}
const fixture = JSON.parse(readFileSync(new URL('fixtures/lerc-blobs.json', import.meta.url), 'utf8')) as {
  width: number;
  height: number;
  blobs: Blob[];
};
const TILE = 16; // the tile is 16x16; the image only fills its first `fixture.height` rows

function layoutOf(b: Blob): BlockLayout {
  const bytes = b.kind === 'uint8' ? 1 : b.kind === 'uint16' ? 2 : 4;
  return {
    compression: 34887,
    predictor: 1,
    width: TILE,
    height: TILE,
    samplesPerPixel: b.samples,
    bytesPerSample: bytes,
    sampleFormat: b.kind === 'float32' ? 3 : 1,
    littleEndian: b.littleEndian,
    lercParameters: b.lercParameters,
    where: `lerc fixture ${b.name}`,
  };
}

describe('LERC blocks decode as libtiff lays them out', () => {
  it.each(fixture.blobs.map((b) => [b.name, b] as const))('%s', async (_name, b) => {
    await loadCodecs();
    const data = Buffer.from(b.blob, 'base64');
    const layout = layoutOf(b);
    const decoded = await decodeBlock(data, layout);
    expect(Buffer.compare(decodeBlockSync(data, layout), decoded)).toBe(0);
    const expected = Buffer.from(b.expected, 'base64');
    const pixel = b.samples * layout.bytesPerSample;
    for (let y = 0; y < fixture.height; y++) {
      // The tile is as wide as the image but twice as tall: compare the image's rows only.
      const have = decoded.subarray(y * TILE * pixel, (y * TILE + fixture.width) * pixel);
      const want = expected.subarray(y * fixture.width * pixel, (y + 1) * fixture.width * pixel);
      expect(Buffer.compare(have, want), `${b.name} row ${y} (expected from ${b.expectedFrom})`).toBe(0);
    }
  });

  it('refuses a blob whose size or type does not match the block', async () => {
    await loadCodecs();
    const b = fixture.blobs.find((x) => x.name === 'uint16-big-endian')!;
    const data = Buffer.from(b.blob, 'base64');
    expect(() => decodeBlockSync(data, { ...layoutOf(b), width: 32 })).toThrow(/LERC blob is 16x16 pixels, but the block is 32x16/);
    expect(() => decodeBlockSync(data, { ...layoutOf(b), sampleFormat: 2 })).toThrow(/LERC blob holds uint16, but the block is int16/);
    expect(() => decodeBlockSync(data, { ...layoutOf(b), samplesPerPixel: 2 })).toThrow(CorruptBlockError);
    expect(() => decodeBlockSync(data, { ...layoutOf(b), lercParameters: [4, 7] })).toThrow(/additional compression 7 is not supported/);
  });

  it('survives damaged blobs: every single-byte corruption ends in a typed error or a block', async () => {
    await loadCodecs();
    for (const b of fixture.blobs) {
      const good = Buffer.from(b.blob, 'base64');
      const layout = layoutOf(b);
      for (let i = 0; i < good.length; i += 3) {
        const bad = Uint8Array.from(good);
        bad[i] = bad[i]! ^ 0x5a;
        try {
          expect(decodeBlockSync(bad, layout).length).toBe(TILE * TILE * layout.samplesPerPixel * layout.bytesPerSample);
        } catch (err) {
          expect(err).toBeInstanceOf(CorruptBlockError);
        }
      }
    }
  });
});
