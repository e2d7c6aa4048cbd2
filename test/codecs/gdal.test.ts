import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeBlock, decodeBlockSync, encodeBlockSync, loadCodecs, type BlockLayout } from '../../src/raster/codecs/index.js';

/**
 * Our decoders against libtiff: gdal-fixtures.py writes ~900 small TIFFs with GDAL (every compression,
 * predictor, sample type, interleave, byte order, tiles and strips) and saves what GDAL reads from
 * them; each test decodes every block of one file and compares it with GDAL's pixels.
 */

const PYTHON = '/usr/bin/python3';
const hasGdal = spawnSync(PYTHON, ['-c', 'import osgeo.gdal, numpy'], { stdio: 'ignore' }).status === 0;

interface Fixture {
  name: string;
  dtype: string;
  width: number;
  height: number;
  bands: number;
  littleEndian: boolean;
  compression: number;
  predictor: number;
  photometric: number;
  planar: boolean;
  tiled: boolean;
  blockWidth: number;
  blockHeight: number;
  bytesPerSample: number;
  sampleFormat: number;
  jpegTables: string | null;
  lercParameters: number[] | null;
  blocks: { plane: number; col: number; row: number; offset: number; size: number }[];
  tolerance: number;
  expectedFrom: string;
}

// Generated while collecting tests, so that each fixture becomes its own named test.
const dir = hasGdal ? mkdtempSync(join(tmpdir(), 'codecs-gdal-')) : '';
const fixtures: Fixture[] = [];
if (hasGdal) {
  execFileSync(PYTHON, [fileURLToPath(new URL('gdal-fixtures.py', import.meta.url)), dir], { stdio: 'pipe' });
  fixtures.push(...(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { fixtures: Fixture[] }).fixtures);
}

function layoutOf(f: Fixture, b: Fixture['blocks'][number]): BlockLayout {
  return {
    compression: f.compression,
    predictor: f.predictor,
    width: f.blockWidth,
    height: f.tiled ? f.blockHeight : Math.min(f.blockHeight, f.height - b.row * f.blockHeight),
    samplesPerPixel: f.planar ? 1 : f.bands,
    bytesPerSample: f.bytesPerSample,
    sampleFormat: f.sampleFormat,
    littleEndian: f.littleEndian,
    photometric: f.photometric,
    jpegTables: f.jpegTables === null ? undefined : Uint8Array.from(Buffer.from(f.jpegTables, 'hex')),
    lercParameters: f.lercParameters ?? undefined,
    where: `${f.name}.tif: block ${b.col},${b.row} of plane ${b.plane}`,
  };
}

/** Compares a decoded block's in-image samples with GDAL's; returns the largest difference (lossy) or throws on the first mismatch. */
function compare(f: Fixture, b: Fixture['blocks'][number], layout: BlockLayout, got: Uint8Array, want: Uint8Array): number {
  const bps = f.bytesPerSample;
  const spp = layout.samplesPerPixel;
  const x0 = b.col * f.blockWidth;
  const y0 = b.row * f.blockHeight;
  const w = Math.min(f.blockWidth, f.width - x0);
  const h = Math.min(layout.height, f.height - y0);
  let worst = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let s = 0; s < spp; s++) {
        const band = f.planar ? b.plane : s;
        const g = ((y * f.blockWidth + x) * spp + s) * bps;
        const e = ((band * f.height + y0 + y) * f.width + x0 + x) * bps;
        for (let k = 0; k < bps; k++) {
          const diff = Math.abs(got[g + k]! - want[e + k]!);
          if (diff > f.tolerance) {
            throw new Error(
              `${layout.where}: sample ${s} of pixel (${x0 + x}, ${y0 + y}) byte ${k} is ${got[g + k]}, GDAL says ${want[e + k]}`,
            );
          }
          worst = Math.max(worst, diff);
        }
      }
    }
  }
  return worst;
}

describe.skipIf(!hasGdal)('block decoders agree with GDAL (libtiff)', () => {
  beforeAll(async () => {
    await loadCodecs();
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('has a fixture for every compression the decoder reads', () => {
    const codes = new Set(fixtures.map((f) => f.compression));
    expect([...codes].sort((a, b) => a - b)).toEqual([1, 5, 7, 8, 32773, 34887, 50000]);
  });

  it.each(fixtures.map((f) => [f.name, f] as const))('decodes %s as GDAL does', async (_name, f) => {
    const file = readFileSync(join(dir, `${f.name}.tif`));
    const want = readFileSync(join(dir, `${f.name}.bin`));
    for (const b of f.blocks) {
      const data = file.subarray(b.offset, b.offset + b.size);
      const layout = layoutOf(f, b);
      const got = await decodeBlock(data, layout);
      expect(got.length).toBe(layout.width * layout.height * layout.samplesPerPixel * layout.bytesPerSample);
      compare(f, b, layout, got, want);
      // The sync path (worker threads) must give the same bytes.
      expect(Buffer.compare(decodeBlockSync(data, layout), got)).toBe(0);
    }
  });

  it('our LZW encoder writes the very bytes libtiff writes (for blocks under its first ratio check)', () => {
    // libtiff may also clear the table early when the compression ratio drops, checked every 10000
    // input bytes; below that its output is fully determined, so ours must match it byte for byte.
    let compared = 0;
    for (const f of fixtures.filter((x) => x.compression === 5 && x.tiled)) {
      const file = readFileSync(join(dir, `${f.name}.tif`));
      const b = f.blocks[0]!; // tile 0,0 lies wholly inside the image
      const layout = layoutOf(f, b);
      const blob = file.subarray(b.offset, b.offset + b.size);
      const samples = decodeBlockSync(blob, layout);
      if (samples.length >= 10000) continue;
      expect(Buffer.compare(encodeBlockSync(samples, layout), blob), f.name).toBe(0);
      compared++;
    }
    expect(compared).toBeGreaterThan(20);
  });
});
