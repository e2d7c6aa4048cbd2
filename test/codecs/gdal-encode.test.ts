import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeBlockSync } from '../../src/raster/codecs/index.js';
import { DTYPES, layoutFor, smoothSamples, type DTypeCase } from './helpers.js';
import { writeTinyTiff } from './tiny-tiff.js';

/**
 * The other direction from gdal.test.ts: we encode every tile of a small image with each encoder,
 * predictor, sample type and byte order, wrap the tiles in a minimal TIFF, and check that GDAL
 * (libtiff) reads back exactly the samples we started from.
 */

const PYTHON = '/usr/bin/python3';
const hasGdal = spawnSync(PYTHON, ['-c', 'import osgeo.gdal, numpy'], { stdio: 'ignore' }).status === 0;

const WIDTH = 70;
const HEIGHT = 45;
const TILE = 32;

interface Case {
  name: string;
  dtype: DTypeCase;
  spp: number;
  path: string;
  source: Uint8Array;
}

/** Cuts the image into TILE x TILE tiles (edge tiles zero-padded) and encodes each. */
function encodeTiles(source: Uint8Array, dtype: DTypeCase, spp: number, compression: number, predictor: number, littleEndian: boolean): Uint8Array[] {
  const px = spp * dtype.bytes;
  const tiles: Uint8Array[] = [];
  for (let ty = 0; ty < Math.ceil(HEIGHT / TILE); ty++) {
    for (let tx = 0; tx < Math.ceil(WIDTH / TILE); tx++) {
      const tile = new Uint8Array(TILE * TILE * px);
      for (let y = 0; y < TILE && ty * TILE + y < HEIGHT; y++) {
        const x0 = tx * TILE;
        const w = Math.min(TILE, WIDTH - x0);
        const from = ((ty * TILE + y) * WIDTH + x0) * px;
        tile.set(source.subarray(from, from + w * px), y * TILE * px);
      }
      const layout = layoutFor(dtype, { compression, predictor, width: TILE, height: TILE, samplesPerPixel: spp, littleEndian });
      tiles.push(encodeBlockSync(tile, layout));
    }
  }
  return tiles;
}

const dir = hasGdal ? mkdtempSync(join(tmpdir(), 'codecs-gdal-encode-')) : '';
const cases: Case[] = [];
if (hasGdal) {
  for (const [codec, compression] of [['none', 1], ['LZW', 5], ['DEFLATE', 8], ['ZSTD', 50000]] as const) {
    for (const dtype of DTYPES) {
      const predictors = compression === 1 ? [1] : dtype.sampleFormat === 3 ? [1, 2, 3] : [1, 2];
      for (const predictor of predictors) {
        for (const spp of [1, 3]) {
          for (const littleEndian of [true, false]) {
            const name = `${codec} ${dtype.name} predictor ${predictor}, ${spp} sample(s) per pixel, ${littleEndian ? 'LE' : 'BE'}`;
            const source = smoothSamples(dtype, WIDTH, HEIGHT, spp, cases.length + 1);
            const tiff = writeTinyTiff({
              width: WIDTH,
              height: HEIGHT,
              tileWidth: TILE,
              tileHeight: TILE,
              samplesPerPixel: spp,
              bytesPerSample: dtype.bytes,
              sampleFormat: dtype.sampleFormat,
              compression,
              predictor,
              littleEndian,
              tiles: encodeTiles(source, dtype, spp, compression, predictor, littleEndian),
            });
            const path = join(dir, `case${cases.length}.tif`);
            writeFileSync(path, tiff);
            cases.push({ name, dtype, spp, path, source });
          }
        }
      }
    }
  }
  execFileSync(PYTHON, [fileURLToPath(new URL('gdal-read.py', import.meta.url)), ...cases.map((c) => c.path)], { stdio: 'pipe' });
}

describe.skipIf(!hasGdal)('GDAL (libtiff) reads what our encoders write', () => {
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(existsSync(`${c.path}.err`) ? readFileSync(`${c.path}.err`, 'utf8') : '').toBe('');
    const got = readFileSync(`${c.path}.bin`);
    // GDAL gives bands one after another; our source is pixel-interleaved.
    const bps = c.dtype.bytes;
    const pixels = WIDTH * HEIGHT;
    for (let i = 0; i < pixels; i++) {
      for (let s = 0; s < c.spp; s++) {
        for (let k = 0; k < bps; k++) {
          const want = c.source[(i * c.spp + s) * bps + k]!;
          const have = got[(s * pixels + i) * bps + k]!;
          if (want !== have) {
            throw new Error(`${c.name}: sample ${s} of pixel (${i % WIDTH}, ${Math.floor(i / WIDTH)}) byte ${k} reads ${have}, wrote ${want}`);
          }
        }
      }
    }
  });
});
