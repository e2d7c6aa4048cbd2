import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { afterAll, describe, expect, it } from 'vitest';

import { DataboxError } from '../../src/errors.js';
import { CodecPool, inThreadCodecs, openGeoTiff } from '../../src/raster/index.js';
import { MemorySource } from '../storage/support/memory-source.js';

/**
 * Found by `npm run fuzz`: a 15 KB file whose SamplesPerPixel says 65,535 passes every check at open
 * (its 16×16 tiles of 134 MB stay under the block limit), and a 48×48 window of all its bands asked
 * for 65,535 typed arrays of 18 KB one by one. V8's bookkeeping of that many backing stores took 6 to
 * 37 s on this machine before the first tile was even read (and failed). A window's bands are now views
 * on one buffer, allocated at once.
 */
const SEED = fileURLToPath(new URL('../../fuzz/seeds/f64_deflate_pred3.tif', import.meta.url));

/** The seed (a 48×40 Float64 DEFLATE file in 16×16 tiles) claiming 65,535 samples per pixel. */
function manyBands(): Uint8Array {
  const bytes = new Uint8Array(readFileSync(SEED));
  const view = new DataView(bytes.buffer);
  const first = view.getUint32(4, true);
  for (let i = 0; i < view.getUint16(first, true); i++) {
    const at = first + 2 + i * 12;
    if (view.getUint16(at, true) === 277) view.setUint16(at + 8, 65535, true);
  }
  return bytes;
}

const pool = new CodecPool(1);
afterAll(() => pool.close());

describe('a header claiming 65,535 bands', () => {
  it.each([
    ['in this thread', inThreadCodecs],
    ['in a codec pool', pool],
  ])('fails its first tile at once when every band of a window is read, decoding %s', async (_how, codecs) => {
    const tiff = await openGeoTiff(new MemorySource(manyBands(), 'mem://bands.tif'), { codecs });
    expect(tiff.bands).toBe(65535);
    const t0 = performance.now();
    const err: unknown = await tiff.readWindow({ window: { x: 0, y: 0, width: 48, height: 40 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataboxError);
    expect((err as DataboxError).message).toMatch(/^mem:\/\/bands\.tif: tile 0,0 of IFD 0/);
    // Milliseconds now; 6 s or more before, one allocation per band. Bounded generously for a loaded machine.
    expect(performance.now() - t0).toBeLessThan(3000);
  });
});

describe('the bands of a window', () => {
  it('are separate views on one buffer, each its band’s pixels, from either codec runner', async () => {
    const bytes = new Uint8Array(readFileSync(fileURLToPath(new URL('../../fuzz/seeds/u16_none_bandinterleave.tif', import.meta.url))));
    const read = async (codecs: typeof inThreadCodecs) => {
      const tiff = await openGeoTiff(new MemorySource(bytes, 'mem://four.tif'), { codecs });
      return tiff.readWindow({ window: { x: 3, y: 5, width: 40, height: 30 }, bands: [3, 0, 2] });
    };
    const here = await read(inThreadCodecs);
    const there = await read(pool);
    expect(here.bands.map((b) => b.length)).toEqual([1200, 1200, 1200]);
    expect(new Set(here.bands.map((b) => b.buffer)).size).toBe(1);
    expect(there.bands[0]!.buffer).toBeInstanceOf(SharedArrayBuffer);
    for (let b = 0; b < 3; b++) expect(Array.from(there.bands[b]!)).toEqual(Array.from(here.bands[b]!));
    // Distinct bands, not one band three times.
    expect(Array.from(here.bands[0]!)).not.toEqual(Array.from(here.bands[1]!));
  });
});
