import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openGeoTiff } from '../../src/raster/index.js';
import { gdalProbe, hasGdal } from '../helpers/gdal.js';
import { CONFORMANCE, EXPECTED, sha256, tempDir } from '../helpers/fixtures.js';

const tmp = tempDir('conformance');
afterAll(() => tmp.remove());

describe('the reader matches GDAL on every conformance fixture', () => {
  for (const [name, want] of Object.entries(EXPECTED)) {
    const path = join(CONFORMANCE, name);
    const jpeg = want.compression.includes('JPEG');

    it(`${name}: metadata is what GDAL reports`, async () => {
      const tiff = await openGeoTiff(path);
      try {
        const info = tiff.info();
        expect(info.width).toBe(want.width);
        expect(info.height).toBe(want.height);
        expect(info.bands).toBe(want.bands);
        expect(info.dtype).toBe(want.dtype);
        expect(info.geotransform).not.toBeNull();
        info.geotransform!.forEach((v, i) => expect(v).toBeCloseTo(want.geotransform[i]!, 9));
        expect(info.epsg).toBe(want.epsg);
        expect(info.nodata).toBe(want.nodata);
        expect(info.block).toEqual(want.block);
        expect(info.compression).toBe(want.compression);
        if (want.overviews) expect(info.overviews).toEqual(want.overviews.map((o) => [o.width, o.height]));
        expect(info.proj).toMatch(/\+proj=/);
      } finally {
        await tiff.close();
      }
    });

    it.skipIf(jpeg)(`${name}: every band is pixel-exact`, async () => {
      const tiff = await openGeoTiff(path);
      try {
        const { bands } = await tiff.readWindow();
        expect(bands.map(sha256)).toEqual(want.pixels.map((p) => p.sha256_le));
        for (const [level, ov] of (want.overviews ?? []).entries()) {
          const read = await tiff.readWindow({ level: level + 1 });
          expect([read.width, read.height]).toEqual([ov.width, ov.height]);
          expect(sha256(read.bands[0]!)).toBe(ov.sha256_le);
        }
      } finally {
        await tiff.close();
      }
    });

    it.skipIf(!jpeg || !hasGdal)(`${name}: JPEG samples are within 2 of GDAL's`, async () => {
      const dir = join(tmp.dir, name);
      gdalProbe(path, dir);
      const tiff = await openGeoTiff(path);
      try {
        const { bands } = await tiff.readWindow();
        bands.forEach((band, b) => {
          const gdal = readFileSync(join(dir, `band${b}.bin`));
          expect(gdal.length).toBe(band.length);
          let worst = 0;
          for (let i = 0; i < band.length; i++) worst = Math.max(worst, Math.abs(band[i]! - gdal[i]!));
          expect(worst).toBeLessThanOrEqual(2);
        });
      } finally {
        await tiff.close();
      }
    });
  }
});

describe('window reads', () => {
  it('a window of chosen bands equals the same pixels cut from the whole band', async () => {
    const tiff = await openGeoTiff(join(CONFORMANCE, 'u16_none_bandinterleave.tif'));
    try {
      const whole = await tiff.readWindow({ bands: [2] });
      const win = await tiff.readWindow({ window: { x: 250, y: 100, width: 40, height: 180 }, bands: [2] });
      for (let y = 0; y < 180; y++) {
        for (let x = 0; x < 40; x++) expect(win.bands[0]![y * 40 + x]).toBe(whole.bands[0]![(100 + y) * tiff.width + 250 + x]);
      }
    } finally {
      await tiff.close();
    }
  });

  it('a window outside the image is refused with the image size in the message', async () => {
    const tiff = await openGeoTiff(join(CONFORMANCE, 'u8_deflate_tiled256.tif'));
    try {
      await expect(tiff.readWindow({ window: { x: 200, y: 0, width: 200, height: 10 } })).rejects.toThrow(/outside the 294×304 image/);
      await expect(tiff.readWindow({ bands: [3] })).rejects.toThrow(/Band 3 does not exist/);
      await expect(tiff.readWindow({ level: 1 })).rejects.toThrow(/Level 1 does not exist/);
    } finally {
      await tiff.close();
    }
  });
});
