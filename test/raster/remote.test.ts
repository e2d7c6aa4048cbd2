import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CogWriter, allocate, cutTile, openGeoTiff, type GeoTiff } from '../../src/raster/index.js';
import { closeSharedConnections, writeAll } from '../../src/storage/index.js';
import { readFile } from 'node:fs/promises';
import { prng } from '../helpers/prng.js';
import { sha256, tempDir } from '../helpers/fixtures.js';
import { RangeServer } from '../storage/support/range-server.js';
import { S3RVER_CREDENTIALS, S3TestServer } from '../storage/support/s3-server.js';

/**
 * Window reads from remote COGs fetch only the tiles they cover: the bytes on the wire stay under twice
 * the compressed size of those tiles.
 */
const tmp = tempDir('remote');
let http: RangeServer;
let s3: S3TestServer;
const SIZE = 2048;
const local = join(tmp.dir, 'scene.tif');

beforeAll(async () => {
  // A noisy 2048×2048 UInt16 band: tiles compress to a few hundred KB, like real imagery.
  const r = prng(7);
  const band = allocate('UInt16', SIZE * SIZE);
  for (let i = 0; i < band.length; i++) band[i] = 6000 + Math.floor(3000 * Math.sin(i / 5000)) + Math.floor(r() * 400);
  const writer = await CogWriter.create(local, { width: SIZE, height: SIZE, dtype: 'UInt16', epsg: 32632, geotransform: [400000, 30, 0, 5600000, 0, -30] });
  for (let row = 0; row < writer.tilesDown; row++) {
    const strip = band.subarray(row * 512 * SIZE, (row + 1) * 512 * SIZE);
    for (let col = 0; col < writer.tilesAcross; col++) await writer.writeTile(col, row, cutTile([strip], SIZE, 512, col, 512, 'UInt16', 0));
  }
  await writer.finish();
  copyFileSync(local, join(tmp.dir, 'served.tif'));
  http = await new RangeServer(tmp.dir).listen();
  s3 = await S3TestServer.start('rasters');
  process.env.DATABOX_S3_ENDPOINT = s3.endpoint;
  process.env.AWS_ACCESS_KEY_ID = S3RVER_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = S3RVER_CREDENTIALS.secretAccessKey;
  await writeAll(s3.url('scene.tif'), new Uint8Array(await readFile(local)));
});

afterAll(async () => {
  await closeSharedConnections();
  await http?.close();
  await s3?.close();
  tmp.remove();
});

/** Compressed bytes of the tiles a window covers at a level. */
function coveredBytes(tiff: GeoTiff, level: number, x: number, y: number, w: number, h: number): number {
  const im = tiff.levels[level]!;
  let sum = 0;
  for (let row = Math.floor(y / im.blockHeight); row <= Math.floor((y + h - 1) / im.blockHeight); row++) {
    for (let col = Math.floor(x / im.blockWidth); col <= Math.floor((x + w - 1) / im.blockWidth); col++) {
      sum += im.byteCounts[row * im.blocksAcross + col]!;
    }
  }
  return sum;
}

async function expectedWindow(level: number, x: number, y: number, w: number, h: number): Promise<string> {
  const tiff = await openGeoTiff(local);
  try {
    return sha256((await tiff.readWindow({ level, window: { x, y, width: w, height: h } })).bands[0]!);
  } finally {
    await tiff.close();
  }
}

describe('window reads from remote COGs', () => {
  it('a 512×512 window over HTTP transfers less than twice the compressed tiles it covers', async () => {
    const tiff = await openGeoTiff(http.url('served.tif'));
    try {
      const before = http.snapshot().bodyBytes;
      const win = await tiff.readWindow({ window: { x: 700, y: 300, width: 512, height: 512 } });
      const sent = http.snapshot().bodyBytes - before;
      const covered = coveredBytes(tiff, 0, 700, 300, 512, 512);
      expect(covered).toBeGreaterThan(100_000);
      expect(sent).toBeLessThan(2 * covered);
      expect(sha256(win.bands[0]!)).toBe(await expectedWindow(0, 700, 300, 512, 512));
    } finally {
      await tiff.close();
    }
  });

  it('a 512×512 window over S3 transfers less than twice the compressed tiles it covers, headers included', async () => {
    const tiff = await openGeoTiff(s3.url('scene.tif'));
    try {
      const before = s3.proxy.downstreamBytes;
      const win = await tiff.readWindow({ window: { x: 1024, y: 1024, width: 512, height: 512 } });
      const sent = s3.proxy.downstreamBytes - before;
      const covered = coveredBytes(tiff, 0, 1024, 1024, 512, 512);
      expect(sent).toBeLessThan(2 * covered);
      expect(sha256(win.bands[0]!)).toBe(await expectedWindow(0, 1024, 1024, 512, 512));
    } finally {
      await tiff.close();
    }
  });

  it('opening a remote COG costs one small read, and an overview window fetches only that level', async () => {
    const start = http.snapshot();
    const tiff = await openGeoTiff(http.url('served.tif'));
    try {
      const opened = http.snapshot();
      expect(opened.bodyBytes - start.bodyBytes).toBeLessThanOrEqual(64 * 1024);
      expect(tiff.info().overviews).toEqual([[1024, 1024], [512, 512], [256, 256]]);
      const win = await tiff.readWindow({ level: 2, window: { x: 0, y: 0, width: 512, height: 512 } });
      const sent = http.snapshot().bodyBytes - opened.bodyBytes;
      expect(sent).toBeLessThan(2 * coveredBytes(tiff, 2, 0, 0, 512, 512));
      expect(sha256(win.bands[0]!)).toBe(await expectedWindow(2, 0, 0, 512, 512));
    } finally {
      await tiff.close();
    }
  });
});
