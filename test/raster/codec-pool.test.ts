import { afterAll, describe, expect, it } from 'vitest';
import { DataboxError } from '../../src/errors.js';
import { CodecPool } from '../../src/raster/index.js';
import type { BlockLayout } from '../../src/raster/codecs/index.js';

const layout: BlockLayout = {
  compression: 8,
  predictor: 2,
  width: 64,
  height: 32,
  samplesPerPixel: 1,
  bytesPerSample: 2,
  sampleFormat: 1,
  littleEndian: true,
  where: 'pool-test.tif: tile 0,0',
};

function samples(seed: number): Uint8Array {
  const a = new Uint16Array(64 * 32);
  for (let i = 0; i < a.length; i++) a[i] = (i * 7 + seed * 131) % 4000;
  return new Uint8Array(a.buffer);
}

const pool = new CodecPool(2);
afterAll(() => pool.close());

describe('the codec pool', () => {
  it('round-trips many blocks at once, each to its own caller', async () => {
    const inputs = Array.from({ length: 40 }, (_, i) => samples(i));
    const encoded = await Promise.all(inputs.map((s) => pool.encode(s, layout)));
    const decoded = await Promise.all(encoded.map((e) => pool.decode(e, layout)));
    decoded.forEach((d, i) => expect(Buffer.from(d).equals(Buffer.from(inputs[i]!))).toBe(true));
  });

  it('leaves the caller’s samples alone unless told it may take them', async () => {
    const s = samples(1);
    await pool.encode(s, layout);
    expect(s.byteLength).toBe(64 * 32 * 2);
    await pool.encode(s, layout, { transfer: true });
    expect(s.byteLength).toBe(0);
  });

  it('reports a corrupt block as a typed error that names the block, and keeps working', async () => {
    const err = await pool.decode(new Uint8Array([1, 2, 3, 4, 5]), layout).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DataboxError);
    expect((err as DataboxError).code).toBe('ERR_CODEC_CORRUPT');
    expect((err as Error).message).toMatch(/^pool-test\.tif: tile 0,0: DEFLATE stream is corrupt/);
    const ok = await pool.decode(await pool.encode(samples(3), layout), layout);
    expect(Buffer.from(ok).equals(Buffer.from(samples(3)))).toBe(true);
  });

  it('rejects queued blocks when closed, and everything after', async () => {
    const small = new CodecPool(1);
    const queued = Array.from({ length: 5 }, (_, i) => small.encode(samples(i), layout));
    const closing = small.close();
    const settled = await Promise.allSettled(queued);
    await closing;
    expect(settled.some((s) => s.status === 'rejected')).toBe(true);
    await expect(small.encode(samples(0), layout)).rejects.toThrow(/codec pool is closed/);
  });

  it('refuses a size that is not a positive integer, naming it', () => {
    expect(() => new CodecPool(0)).toThrow('CodecPool size must be a positive integer (got 0)');
  });
});

describe('the codec pool in a script run with node -e', () => {
  it('starts its threads even when node was given --input-type', async () => {
    const { execFileSync } = await import('node:child_process');
    const { fileURLToPath } = await import('node:url');
    const dist = fileURLToPath(new URL('../../dist/index.js', import.meta.url));
    const fixture = fileURLToPath(new URL('../../../shared/fixtures/conformance/u16_deflate_pred2_tiled.tif', import.meta.url));
    const script = `const m = await import(${JSON.stringify(dist)}); const t = await m.openGeoTiff(${JSON.stringify(fixture)});
const w = await t.readWindow(); await m.closeSharedCodecs(); console.log(w.bands.length, w.width);`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(out.trim()).toBe('2 294');
  });

  it('starts its threads when node was given V8 flags, which a worker refuses in its execArgv', async () => {
    // Found by `npm run fuzz` (node --expose-gc): `node --max-old-space-size=4096 databox translate ...` failed
    // with "Initiated Worker with invalid execArgv flags".
    const { execFileSync } = await import('node:child_process');
    const { fileURLToPath } = await import('node:url');
    const dist = fileURLToPath(new URL('../../dist/index.js', import.meta.url));
    const fixture = fileURLToPath(new URL('../../../shared/fixtures/conformance/u16_deflate_pred2_tiled.tif', import.meta.url));
    const script = `const m = await import(${JSON.stringify(dist)}); const t = await m.openGeoTiff(${JSON.stringify(fixture)});
const w = await t.readWindow(); await m.closeSharedCodecs(); console.log(w.bands.length, w.width, typeof gc);`;
    const flags = ['--max-old-space-size=1024', '--expose-gc', '--stack-size=2000', '--input-type=module'];
    const out = execFileSync(process.execPath, [...flags, '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(out.trim()).toBe('2 294 function');
  });
});
