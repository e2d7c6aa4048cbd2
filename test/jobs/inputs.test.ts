import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { NoMatchError, sceneName, splitByFile, splitByWindows } from '../../src/jobs/index.js';
import { CONFORMANCE, L8_RED, tempDir } from '../helpers/fixtures.js';
import { S3RVER_CREDENTIALS, S3TestServer } from '../storage/support/s3-server.js';

const tmp = tempDir('split');
afterAll(() => tmp.remove());

describe('splitByFile', () => {
  it('expands a local glob to the matching files, sorted, and names a glob that matches nothing', async () => {
    const dir = join(tmp.dir, 'scenes');
    mkdirSync(join(dir, 'deep'), { recursive: true });
    for (const name of ['b_B4.TIF', 'a_B4.TIF', 'a_B5.TIF', 'deep/c_B4.TIF']) writeFileSync(join(dir, name), 'x');
    expect(await splitByFile(join(dir, '*_B4.TIF'))).toEqual([join(dir, 'a_B4.TIF'), join(dir, 'b_B4.TIF')]);
    expect(await splitByFile(join(dir, '**/*_B4.TIF'))).toEqual([join(dir, 'a_B4.TIF'), join(dir, 'b_B4.TIF'), join(dir, 'deep/c_B4.TIF')]);
    expect(await splitByFile(`file://${join(dir, 'a_B5.TIF')}`)).toEqual([join(dir, 'a_B5.TIF')]);
    await expect(splitByFile(join(dir, '*_B9.TIF'))).rejects.toThrow(NoMatchError);
    await expect(splitByFile(join(dir, 'missing.TIF'))).rejects.toThrow(`No file matches ${join(dir, 'missing.TIF')} (it does not exist)`);
    await expect(splitByFile('https://example.org/*.TIF')).rejects.toThrow(/HTTP has no listing/);
    expect(await splitByFile('https://example.org/a.TIF')).toEqual(['https://example.org/a.TIF']);
  });

  describe('on S3', () => {
    let s3: S3TestServer;
    beforeAll(async () => {
      s3 = await S3TestServer.start('scenes');
      const client = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: S3RVER_CREDENTIALS });
      for (const key of ['l8/x_B4.TIF', 'l8/x_B5.TIF', 'l8/y_B4.TIF', 'l8/sub/z_B4.TIF', 'other/w_B4.TIF']) {
        await client.send(new PutObjectCommand({ Bucket: 'scenes', Key: key, Body: 'x' }));
      }
      client.destroy();
    });
    afterAll(() => s3.close());

    it('lists the prefix before the first wildcard and keeps the keys the glob matches', async () => {
      const s3opts = { s3: { endpoint: s3.endpoint, credentials: S3RVER_CREDENTIALS } };
      expect(await splitByFile('s3://scenes/l8/*_B4.TIF', s3opts)).toEqual(['s3://scenes/l8/x_B4.TIF', 's3://scenes/l8/y_B4.TIF']);
      expect(await splitByFile('s3://scenes/l8/**/*_B4.TIF', s3opts)).toEqual(['s3://scenes/l8/sub/z_B4.TIF', 's3://scenes/l8/x_B4.TIF', 's3://scenes/l8/y_B4.TIF']);
      await expect(splitByFile('s3://scenes/l8/*_B7.TIF', s3opts)).rejects.toThrow('No file matches s3://scenes/l8/*_B7.TIF (listed 4 keys under s3://scenes/l8/)');
    });
  });
});

describe('splitByWindows', () => {
  it('cuts a tiled raster into windows of whole tiles, the edges cut short', async () => {
    // 294 × 304 pixels in 256-pixel tiles: a block size of 300 rounds up to 512, so one window; 200 rounds up to 256.
    const url = join(CONFORMANCE, 'u8_deflate_tiled256.tif');
    expect(await splitByWindows(url, { blockSize: 300 })).toEqual([{ url, x: 0, y: 0, width: 294, height: 304 }]);
    expect(await splitByWindows(url, { blockSize: 200 })).toEqual([
      { url, x: 0, y: 0, width: 256, height: 256 },
      { url, x: 256, y: 0, width: 38, height: 256 },
      { url, x: 0, y: 256, width: 256, height: 48 },
      { url, x: 256, y: 256, width: 38, height: 48 },
    ]);
    await expect(splitByWindows(url, { blockSize: 0 })).rejects.toThrow('blockSize must be a positive integer (got 0)');
  });
});

describe('sceneName', () => {
  it('is the file name without its extension and band suffix', () => {
    expect(sceneName('s3://b/LC08_L1TP_195025_20130707_20170503_01_T1_B4.TIF')).toBe('LC08_L1TP_195025_20130707_20170503_01_T1');
    expect(sceneName(L8_RED)).toBe('LC08_L1TP_195025_20130707_20170503_01_T1');
    expect(sceneName('/data/scene00_B5.TIF?x=1')).toBe('scene00');
    expect(sceneName('/data/scene00_B10.tif', 'B10')).toBe('scene00');
    expect(sceneName('/data/plain.tif')).toBe('plain');
  });
});
