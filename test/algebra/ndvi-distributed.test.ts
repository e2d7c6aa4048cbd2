import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { TestCluster } from '../engine/support/processes.js';
import { runCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/fixtures.js';
import { GDAL_PYTHON, gdalProbe, hasGdal } from '../helpers/gdal.js';
import { S3RVER_CREDENTIALS, S3TestServer } from '../storage/support/s3-server.js';

/**
 * `databox ndvi` end to end with real parts: Landsat-like scenes made by GDAL and uploaded to an
 * S3-protocol server (s3rver), a Jobman and a Taskman with two workers as child processes, and the CLI
 * as a third. The NDVI COGs are read back from S3 and judged by GDAL: valid COGs, on the bands' grid,
 * and equal pixel for pixel to an NDVI this test computes from GDAL's own reading of the bands.
 */

const MAKE_SCENES = fileURLToPath(new URL('../../../shared/tools/make-landsat-scenes.py', import.meta.url));
const tmp = tempDir('ndvi-distributed');

describe.skipIf(!hasGdal)('databox ndvi on a cluster, from S3 to S3', () => {
  let s3: S3TestServer;
  let client: S3Client;
  let cluster: TestCluster;
  let env: NodeJS.ProcessEnv;
  const scenes = ['scene00', 'scene01'];

  beforeAll(async () => {
    s3 = await S3TestServer.start('landsat');
    // No AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED here: the commands themselves keep the SDK's
    // Node-version notice off stderr, which the first test checks is empty.
    env = { DATABOX_S3_ENDPOINT: s3.endpoint, AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey, AWS_REGION: 'us-east-1' };
    client = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: S3RVER_CREDENTIALS });
    // Two 1300 × 1100 scenes: with 256-pixel tiles and 2 × 2-tile windows, 9 windows each, edges cut short.
    const local = join(tmp.dir, 'scenes');
    execFileSync(GDAL_PYTHON, [MAKE_SCENES, local, String(scenes.length), '1300', '1100'], { stdio: 'ignore' });
    for (const f of readdirSync(local)) {
      await client.send(new PutObjectCommand({ Bucket: 'landsat', Key: `in/${f}`, Body: readFileSync(join(local, f)) }));
    }
    cluster = await TestCluster.create({ heartbeatMs: 500 });
    // The operator lets the cluster's tasks read and write the bucket (the default rules are local folders).
    await cluster.startJobman(['--allow-read', 's3://landsat', '--allow-write', 's3://landsat']);
    await cluster.startTaskman('node-a', 2, env);
  }, 120_000);

  afterAll(async () => {
    await cluster?.close();
    client?.destroy();
    await s3?.close();
    tmp.remove();
  });

  it('writes one COG per scene whose pixels equal an NDVI computed from GDAL’s reading of the bands', async () => {
    const r = await runCli(
      ['ndvi', '--red', 's3://landsat/in/*_B4.TIF', '--nir', 's3://landsat/in/*_B5.TIF', '--out', 's3://landsat/ndvi', '--jobman', cluster.url, '--block-size', '256', '--window-tiles', '2', '--json'],
      { env: { ...env, DATABOX_TOKEN: cluster.token }, timeoutMs: 120_000 },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout) as { scenes: { scene: string; out: string; width: number; valid: number; min: number; max: number; mean: number }[] };
    expect(summary.scenes.map((s) => s.scene)).toEqual(scenes);

    const listed = await client.send(new ListObjectsV2Command({ Bucket: 'landsat', Prefix: 'ndvi/' }));
    // The parts were deleted after assembly: only the COGs are left.
    expect((listed.Contents ?? []).map((o) => o.Key).sort()).toEqual(scenes.map((s) => `ndvi/${s}_NDVI.tif`));

    for (const [i, scene] of scenes.entries()) {
      expect(summary.scenes[i]!.out).toBe(`s3://landsat/ndvi/${scene}_NDVI.tif`);
      const file = join(tmp.dir, `${scene}_NDVI.tif`);
      const body = await client.send(new GetObjectCommand({ Bucket: 'landsat', Key: `ndvi/${scene}_NDVI.tif` }));
      writeFileSync(file, await body.Body!.transformToByteArray());

      const dirs = { red: join(tmp.dir, `${scene}-red`), nir: join(tmp.dir, `${scene}-nir`), out: join(tmp.dir, `${scene}-out`) };
      for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
      const red = gdalProbe(join(tmp.dir, 'scenes', `${scene}_B4.TIF`), dirs.red);
      gdalProbe(join(tmp.dir, 'scenes', `${scene}_B5.TIF`), dirs.nir);
      const out = gdalProbe(file, dirs.out);
      expect(out.cog_errors).toEqual([]);
      expect([out.width, out.height, out.dtype, out.epsg, out.nodata, out.block]).toEqual([1300, 1100, 'Float32', 32632, 'nan', [256, 256]]);
      expect(out.geotransform).toEqual(red.geotransform);
      expect(out.overviews.length).toBeGreaterThan(0);

      const raw = (d: string): ArrayBuffer => new Uint8Array(readFileSync(join(d, 'band0.bin'))).buffer;
      const rv = new Uint16Array(raw(dirs.red));
      const nv = new Uint16Array(raw(dirs.nir));
      const ov = new Float32Array(raw(dirs.out));
      let valid = 0;
      let mismatches = 0;
      for (let p = 0; p < ov.length; p++) {
        const [a, b] = [rv[p]!, nv[p]!];
        if (a === 0 || b === 0 || a + b === 0) {
          if (!Number.isNaN(ov[p])) mismatches++;
          continue;
        }
        valid++;
        // Float32 of the float64 quotient: what any careful NDVI writes.
        if (ov[p] !== Math.fround((b - a) / (b + a))) mismatches++;
      }
      expect(mismatches).toBe(0);
      expect(summary.scenes[i]!.valid).toBe(valid);
    }
  }, 180_000);

  it('fails with a clear message when a red band has no NIR partner, and writes nothing', async () => {
    const r = await runCli(['ndvi', '--red', 's3://landsat/in/*_B4.TIF', '--nir', 's3://landsat/in/scene00_B5.TIF', '--out', 's3://landsat/bad', '--jobman', cluster.url], {
      env: { ...env, DATABOX_TOKEN: cluster.token },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/No NIR band for scene scene01 \(red s3:\/\/landsat\/in\/scene01_B4\.TIF\)/);
    const listed = await client.send(new ListObjectsV2Command({ Bucket: 'landsat', Prefix: 'bad/' }));
    expect(listed.Contents ?? []).toEqual([]);
  });

  it('refuses to run when the nodes reach S3 elsewhere than the client, naming the node and both settings', async () => {
    // A second cluster whose Taskman has no S3 settings: its workers would go to AWS, not to s3rver.
    const elsewhere = await TestCluster.create({ heartbeatMs: 500 });
    try {
      await elsewhere.startJobman();
      await elsewhere.startTaskman('on-aws', 1, { DATABOX_S3_ENDPOINT: '', AWS_REGION: 'eu-west-1' });
      const r = await runCli(
        ['ndvi', '--red', 's3://landsat/in/*_B4.TIF', '--nir', 's3://landsat/in/*_B5.TIF', '--out', 's3://landsat/elsewhere', '--jobman', elsewhere.url],
        { env: { ...env, DATABOX_TOKEN: elsewhere.token }, timeoutMs: 60_000 },
      );
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toBe(
        `databox: This client reaches s3:// through ${s3.endpoint}, region us-east-1, but the workers of node on-aws (at ${elsewhere.url}) reach it through AWS (no DATABOX_S3_ENDPOINT), region eu-west-1; ` +
          'set the same DATABOX_S3_ENDPOINT and AWS_REGION (and credentials) where that node’s `databox up` or `databox taskman` runs, then start it again',
      );
      expect(r.stderr).not.toContain(S3RVER_CREDENTIALS.secretAccessKey);
      const listed = await client.send(new ListObjectsV2Command({ Bucket: 'landsat', Prefix: 'elsewhere/' }));
      expect(listed.Contents ?? []).toEqual([]);
    } finally {
      await elsewhere.close();
    }
  });
});
