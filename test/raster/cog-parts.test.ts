import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CogPartWriter,
  CogWriter,
  addPart,
  allocate,
  assembleCog,
  cutTile,
  inThreadCodecs,
  planPartRegions,
  regionWindow,
  type CodecRunner,
  type CogOptions,
  type PartManifest,
  type PartWriterRuntime,
  type TileRegion,
  type TypedArray,
} from '../../src/raster/index.js';
import { closeSharedConnections, type S3Options } from '../../src/storage/index.js';
import { gdalProbe, hasGdal } from '../helpers/gdal.js';
import { sha256, tempDir } from '../helpers/fixtures.js';
import { prng } from '../helpers/prng.js';
import { expectSameBytes } from '../storage/support/bytes.js';
import { S3RVER_CREDENTIALS, S3TestServer } from '../storage/support/s3-server.js';

const tmp = tempDir('cog-parts');
let s3: S3TestServer;
let s3Options: S3Options;

beforeAll(async () => {
  s3 = await S3TestServer.start('parts');
  s3Options = { endpoint: s3.endpoint, credentials: S3RVER_CREDENTIALS };
});

afterAll(async () => {
  await closeSharedConnections();
  await s3?.close();
  tmp.remove();
});

type Scene = CogOptions & { blockSize: number };

/** Smooth pixels with noise and nodata holes: a disc, a whole corner tile and a left border. */
function sceneBands(o: Scene, seed: number): TypedArray[] {
  const { width, height, dtype } = o;
  const nodata = o.nodata ?? null;
  const random = prng(seed);
  return Array.from({ length: o.bands ?? 1 }, (_, band) => {
    const a = allocate(dtype, width * height);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const v = 300 + 250 * Math.sin((x + 40 * band) / 97) * Math.cos(y / 61) + 20 * random();
        const hole = (x - 1200) ** 2 + (y - 900) ** 2 < 300 ** 2 || (x >= width - 400 && y < o.blockSize) || x < 5;
        a[y * width + x] = nodata !== null && hole ? nodata : dtype.startsWith('Float') ? v / 7 : Math.round(v);
      }
    }
    return a;
  });
}

/** One full-resolution tile of the scene, past-the-edge pixels filled with nodata. */
function tileOf(o: Scene, bands: TypedArray[], col: number, row: number): TypedArray {
  const b = o.blockSize;
  const rows = Math.min(b, o.height - row * b);
  const strip = bands.map((d) => d.subarray(row * b * o.width, (row * b + rows) * o.width));
  return cutTile(strip, o.width, rows, col, b, o.dtype, o.nodata ?? 0);
}

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** The reference: the whole raster through one CogWriter, bottom row first. */
async function writeWhole(path: string, o: Scene, bands: TypedArray[]): Promise<void> {
  const writer = await CogWriter.create(path, o, { codecs: inThreadCodecs });
  for (let row = writer.tilesDown - 1; row >= 0; row--) {
    await Promise.all(Array.from({ length: writer.tilesAcross }, (_, col) => writer.writeTile(col, row, tileOf(o, bands, col, row))));
  }
  await writer.finish();
}

function tilesOf(region: TileRegion): [number, number][] {
  const tiles: [number, number][] = [];
  for (let row = region.row; row < region.row + region.rows; row++) for (let col = region.col; col < region.col + region.cols; col++) tiles.push([col, row]);
  return tiles;
}

/** One part, as a window subtask writes it: its tiles in a random order, several at once. */
async function writePart(
  url: string,
  o: Scene,
  bands: TypedArray[],
  region: TileRegion,
  random: () => number,
  runtime: PartWriterRuntime = { codecs: inThreadCodecs },
): Promise<PartManifest> {
  const part = await CogPartWriter.create(url, o, region, runtime);
  await Promise.all(shuffled(tilesOf(region), random).map(([col, row]) => part.writeTile(col, row, tileOf(o, bands, col, row))));
  // Through JSON, as a subtask's result travels.
  return JSON.parse(JSON.stringify(await part.finish())) as PartManifest;
}

/** Every part of the scene, written in a random order; manifests come back shuffled again. */
async function writeParts(dir: string, o: Scene, bands: TypedArray[], tilesPerSide: number, seed: number): Promise<PartManifest[]> {
  const random = prng(seed);
  await mkdir(dir, { recursive: true });
  const manifests: PartManifest[] = [];
  for (const region of shuffled(planPartRegions(o.width, o.height, o.blockSize, tilesPerSide), random)) {
    manifests.push(await writePart(join(dir, `part-${region.col}-${region.row}.bin`), o, bands, region, random));
  }
  return shuffled(manifests, random);
}

function add(counts: Map<number, number>, key: number): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

/** A codec runner that counts what it encodes and decodes, per level. */
function countingCodecs(): CodecRunner & { encoded: Map<number, number>; decoded: Map<number, number> } {
  const encoded = new Map<number, number>();
  const decoded = new Map<number, number>();
  const count = (m: Map<number, number>, where: string | undefined): void => add(m, Number(/of level (\d+)$/.exec(where ?? '')?.[1] ?? -1));
  return {
    encoded,
    decoded,
    encode: (samples, layout, options) => (count(encoded, layout.where), inThreadCodecs.encode(samples, layout, options)),
    decode: (data, layout) => (count(decoded, layout.where), inThreadCodecs.decode(data, layout)),
    decodeInto: (data, layout, placement, out) => inThreadCodecs.decodeInto(data, layout, placement, out),
  };
}

const GEO = { geotransform: [500000, 30, 0, 4200000, 0, -30] as [number, number, number, number, number, number], epsg: 32632 };

const CASES: { label: string; scene: Scene; tilesPerSide: number; topLevel: number }[] = [
  {
    label: 'Float32 with NaN holes, 512-pixel DEFLATE tiles with predictor, 2×2-tile parts',
    scene: { width: 3000, height: 2100, dtype: 'Float32', nodata: Number.NaN, blockSize: 512, compression: 'deflate', ...GEO },
    tilesPerSide: 2,
    topLevel: 1,
  },
  {
    label: 'Int16 × 2 bands with nodata -9999, 256-pixel DEFLATE tiles, 4×4-tile parts',
    scene: { width: 3000, height: 2100, bands: 2, dtype: 'Int16', nodata: -9999, blockSize: 256, compression: 'deflate', ...GEO },
    tilesPerSide: 4,
    topLevel: 2,
  },
  {
    label: 'UInt16 with nodata 0, ZSTD, nearest overviews, 8×8-tile parts',
    scene: { width: 3000, height: 2100, dtype: 'UInt16', nodata: 0, blockSize: 256, compression: 'zstd', overviews: 'nearest', ...GEO },
    tilesPerSide: 8,
    topLevel: 3,
  },
  {
    label: "Float32 with overviews: 'none', 4×4-tile parts",
    scene: { width: 3000, height: 2100, dtype: 'Float32', nodata: Number.NaN, blockSize: 256, overviews: 'none', ...GEO },
    tilesPerSide: 4,
    topLevel: 0,
  },
  {
    label: 'one part of 8×8 tiles over a 6×5-tile image with only 4 overviews',
    scene: { width: 3000, height: 2100, dtype: 'Float32', nodata: -9999, blockSize: 512, ...GEO },
    tilesPerSide: 8,
    topLevel: 4,
  },
];

describe('a COG written in parts', () => {
  CASES.forEach((c, n) => {
    it(`is byte for byte the COG one writer makes, and GDAL calls it a COG: ${c.label}`, async () => {
      const dir = join(tmp.dir, `case-${n}`);
      const bands = sceneBands(c.scene, n + 1);
      const manifests = await writeParts(dir, c.scene, bands, c.tilesPerSide, 100 + n);
      const whole = join(dir, 'whole.tif');
      const assembled = join(dir, 'assembled.tif');
      await writeWhole(whole, c.scene, bands);
      const codecs = countingCodecs();
      const result = await assembleCog(assembled, c.scene, manifests, { codecs });

      expectSameBytes(readFileSync(assembled), readFileSync(whole));
      // Parts cut short by the edge may reach higher; the interior ones stop at log2(tilesPerSide).
      expect(Math.min(...manifests.map((m) => m.topLevel))).toBe(c.topLevel);
      for (const m of manifests) expect(JSON.stringify(m).length).toBeLessThan(1024 + 40 * m.tiles.length);
      // Assembly compresses only the tiles no part holds, all of them overviews, and decodes only the
      // parts' top tiles that have a parent.
      const last = result.levels.length - 1;
      const inParts = new Map<number, number>();
      const tops = new Map<number, number>();
      for (const m of manifests) {
        for (const [level] of m.tiles) {
          add(inParts, level);
          if (level === m.topLevel && level < last) add(tops, level);
        }
      }
      result.levels.forEach(([w, h], level) => {
        const all = Math.ceil(w / c.scene.blockSize) * Math.ceil(h / c.scene.blockSize);
        expect(codecs.encoded.get(level) ?? 0).toBe(all - (inParts.get(level) ?? 0));
      });
      expect(codecs.encoded.get(0)).toBeUndefined();
      expect(codecs.decoded).toEqual(tops);

      if (!hasGdal) return;
      const g = gdalProbe(assembled);
      expect(g.cog_errors).toEqual([]);
      // A large file without overviews is still a valid COG; the validator only recommends some.
      const warnings = c.scene.overviews === 'none' ? [expect.stringMatching(/recommended to include internal overviews/)] : [];
      expect(g.cog_warnings).toEqual(warnings);
      expect(g.layout).toBe('COG');
      expect(g.sha256).toEqual(bands.map(sha256));
      expect(g.overviews).toEqual(result.levels.slice(1));
    });
  });

  it('plans aligned regions in row-major order, cut short at the right and bottom edges', () => {
    expect(planPartRegions(3000, 2100, 512, 4)).toEqual([
      { col: 0, row: 0, cols: 4, rows: 4 },
      { col: 4, row: 0, cols: 2, rows: 4 },
      { col: 0, row: 4, cols: 4, rows: 1 },
      { col: 4, row: 4, cols: 2, rows: 1 },
    ]);
    expect(regionWindow({ col: 4, row: 4, cols: 2, rows: 1 }, 3000, 2100, 512)).toEqual({ x: 2048, y: 2048, width: 952, height: 52 });
    expect(() => planPartRegions(3000, 2100, 512, 3)).toThrow(/tilesPerSide must be a power of two \(got 3\)/);
    expect(() => planPartRegions(3000, 2100, 0, 4)).toThrow(/blockSize must be a positive integer \(got 0\)/);
  });

  it('a part refuses a region that is not aligned and a tile outside its region, and leaves nothing behind', async () => {
    const o: Scene = { width: 1100, height: 900, dtype: 'UInt16', blockSize: 256 };
    const url = join(tmp.dir, 'refused.bin');
    await expect(CogPartWriter.create(url, o, { col: 1, row: 0, cols: 2, rows: 2 })).rejects.toThrow(
      /region \{"col":1,"row":0,"cols":2,"rows":2\} is not aligned/,
    );
    await expect(CogPartWriter.create(url, o, { col: 0, row: 0, cols: 3, rows: 2 })).rejects.toThrow(/is not aligned/);
    await expect(CogPartWriter.create(url, o, { col: 4, row: 0, cols: 2, rows: 2 })).rejects.toThrow(/is not inside the 5×4 tile grid/);

    const part = await CogPartWriter.create(url, o, { col: 2, row: 0, cols: 2, rows: 2 });
    expect(part.topLevel).toBe(1);
    await expect(part.writeTile(0, 0, allocate('UInt16', 256 * 256))).rejects.toThrow(/Tile 0,0 is outside the region \(columns 2..3, rows 0..1\)/);
    await part.writeTile(2, 0, allocate('UInt16', 256 * 256));
    await expect(part.finish()).rejects.toThrow(/Tile 3,0 of level 0 was never written/);
    expect(existsSync(url)).toBe(false);
  });

  describe('assembly refuses a manifest that does not fit, naming the problem and the value', () => {
    const o: Scene = { width: 1100, height: 900, dtype: 'UInt16', nodata: 0, blockSize: 256, ...GEO };
    let manifests: PartManifest[];
    let first: PartManifest;
    const out = (): string => join(tmp.dir, 'bad', 'out.tif');
    const refused = async (parts: unknown[], pattern: RegExp, options: CogOptions = o): Promise<void> => {
      await expect(assembleCog(out(), options, parts)).rejects.toThrow(pattern);
      expect(existsSync(out())).toBe(false);
    };

    beforeAll(async () => {
      // 5×4 tiles and 4 levels; 2×2-tile parts: (0,0) first, unshuffled.
      const bands = sceneBands(o, 9);
      const random = prng(9);
      await mkdir(join(tmp.dir, 'bad'), { recursive: true });
      manifests = [];
      for (const region of planPartRegions(o.width, o.height, o.blockSize, 2)) {
        manifests.push(await writePart(join(tmp.dir, 'bad', `part-${region.col}-${region.row}.bin`), o, bands, region, random));
      }
      first = manifests[0]!;
      // One more part, overlapping the first.
      manifests.push(await writePart(join(tmp.dir, 'bad', 'overlap.bin'), o, bands, { col: 1, row: 1, cols: 1, rows: 1 }, random));
    });

    it('something that is not a manifest', async () => {
      await refused([{ ...first, format: 'tiles' }], /Part manifest of .*part-0-0.bin: manifest.format .* \(got "tiles"\)/);
      await refused([{ ...first, tiles: [[0, 0, 0, -1, 10]] }], /manifest.tiles.0.3 must be a non-negative integer \(got -1\)/);
    });

    it('options other than the writer’s, or another level count', async () => {
      await refused([first], /Part .*part-0-0.bin was written with compression deflate, but .*out.tif has zstd/, { ...o, compression: 'zstd' });
      await refused([first], /was written with nodata 0, but .*out.tif has -1/, { ...o, nodata: -1 });
      await refused([{ ...first, levels: 3 }], /Part .*part-0-0.bin was written for 3 levels, but .*out.tif has 4/);
      await refused([{ ...first, topLevel: 0 }], /has topLevel 0, but its region \(columns 0..1, rows 0..1\) makes it 1/);
    });

    it('a tile outside the grid, given twice, or missing from the part', async () => {
      const tiles = first.tiles;
      await refused([{ ...first, tiles: [[0, 9, 0, 0, 10], ...tiles.slice(1)] }], /lists tile 9,0 of level 0, outside that level's 5×4 tile grid/);
      await refused([{ ...first, tiles: [...tiles, tiles[1]] }], /lists tile 1,0 of level 0 twice/);
      await refused([{ ...first, tiles: tiles.slice(1) }], /lacks tile 0,0 of level 0 of its region/);
    });

    it('overlapping parts, and a part missing at finish', async () => {
      await refused(manifests, /Parts .*part-0-0.bin and .*overlap.bin overlap: both hold tile 1,1 of level 0/);
      await refused(manifests.slice(1, -1), /Tile 0,0 of level 0 was never written/);
      // Added one at a time, a part that overlaps one already in is refused before any of its bytes are read.
      const writer = await CogWriter.create(out(), o);
      await addPart(writer, first);
      await expect(addPart(writer, manifests.at(-1))).rejects.toThrow(
        /Tile 1,1 of level 0 from .*overlap.bin was already written to .*out.tif \(do two parts overlap\?\)/,
      );
      await writer.abort();
      expect(existsSync(out())).toBe(false);
    });

    it('a part object cut short', async () => {
      const cut = join(tmp.dir, 'bad', 'cut.bin');
      writeFileSync(cut, readFileSync(first.url).subarray(0, 1000));
      await refused([{ ...first, url: cut }, ...manifests.slice(1, -1)], /from .*cut.bin has \d+ bytes, not the \d+ expected \(is it truncated\?\)/);
    });
  });

  it('reads a part stored in S3 as one stored in a file', async () => {
    const o: Scene = { width: 1100, height: 900, dtype: 'Float32', nodata: Number.NaN, blockSize: 256, ...GEO };
    const bands = sceneBands(o, 21);
    const random = prng(21);
    const dir = join(tmp.dir, 's3');
    await mkdir(dir);
    const manifests: PartManifest[] = [];
    for (const [i, region] of planPartRegions(o.width, o.height, o.blockSize, 2).entries()) {
      const url = i === 0 ? s3.url('scene/part-0.bin') : join(dir, `part-${i}.bin`);
      // The shared codec pool this time, for the parts and for the assembly.
      manifests.push(await writePart(url, o, bands, region, random, { storage: { s3: s3Options } }));
    }
    expect(manifests[0]!.url).toBe('s3://parts/scene/part-0.bin');
    const whole = join(dir, 'whole.tif');
    const assembled = join(dir, 'assembled.tif');
    await writeWhole(whole, o, bands);
    await assembleCog(assembled, o, manifests, { source: { s3: s3Options } });
    expectSameBytes(readFileSync(assembled), readFileSync(whole));
  });
});
