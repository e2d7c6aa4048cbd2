import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DataboxError } from '../../src/errors.js';
import { openGeoTiff } from '../../src/raster/index.js';
import { CONFORMANCE, EXPECTED } from '../helpers/fixtures.js';
import { prng } from '../helpers/prng.js';
import { MemorySource } from '../storage/support/memory-source.js';

/**
 * Hostile input: every conformance fixture, mutated thousands of ways (seeded, so a failure replays).
 * Each case must either read or fail with a DataboxError whose message names the file; never another
 * exception, never a hang, never an allocation the file cannot justify.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 20261121);
const CASES = Number(process.env.FUZZ_CASES ?? 2400);

const fixtures = Object.keys(EXPECTED).map((name) => ({ name, bytes: new Uint8Array(readFileSync(join(CONFORMANCE, name))) }));

const EXTREMES = [0, 1, 0xff, 0xffff, 0x7fffffff, 0xffffffff, 0x10000, 8, 16];

type Mutation = (b: Uint8Array, r: () => number) => string;

const pick = <T>(xs: readonly T[], r: () => number): T => xs[Math.floor(r() * xs.length)]!;
/** Most of a TIFF's structure sits in the first few KB (COGs put every IFD there). */
const headerPos = (b: Uint8Array, r: () => number): number => Math.floor(r() * Math.min(b.length, r() < 0.8 ? 4096 : b.length));

const MUTATIONS: Mutation[] = [
  (b, r) => {
    const n = 1 + Math.floor(r() * 8);
    for (let i = 0; i < n; i++) b[headerPos(b, r)] = Math.floor(r() * 256);
    return `flip ${n} header bytes`;
  },
  (b, r) => {
    const at = headerPos(b, r) & ~1;
    const v = pick(EXTREMES, r);
    new DataView(b.buffer).setUint32(Math.min(at, b.length - 4), v, true);
    return `u32 ${v} at ${at}`;
  },
  (b, r) => {
    const at = headerPos(b, r) & ~1;
    new DataView(b.buffer).setUint16(Math.min(at, b.length - 2), pick(EXTREMES, r) & 0xffff, true);
    return `u16 at ${at}`;
  },
  (b, r) => {
    const n = 1 + Math.floor(r() * 64);
    for (let i = 0; i < n; i++) b[Math.floor(r() * b.length)] = Math.floor(r() * 256);
    return `flip ${n} bytes anywhere`;
  },
];

function mutate(bytes: Uint8Array, r: () => number): { data: Uint8Array; what: string } {
  if (r() < 0.15) {
    const cut = Math.floor(r() * bytes.length);
    return { data: bytes.slice(0, cut), what: `truncate at ${cut}` };
  }
  const data = bytes.slice();
  const what = pick(MUTATIONS, r)(data, r);
  return { data, what };
}

async function exercise(source: MemorySource | string): Promise<void> {
  const tiff = await openGeoTiff(source);
  try {
    tiff.info();
    for (let level = 0; level < tiff.levels.length; level++) {
      const image = tiff.levels[level]!;
      // Cap the window so a mutated size does not turn one case into a giant (but legitimate) read.
      const window = { x: 0, y: 0, width: Math.min(image.width, 2048), height: Math.min(image.height, 2048) };
      await tiff.readWindow({ level, window });
    }
  } finally {
    await tiff.close();
  }
}

/** A fixture (classic little-endian TIFF) whose first IFD has the given tags rewritten as single LONGs. */
function withLongTags(name: string, values: Record<number, number>): Uint8Array {
  const bytes = new Uint8Array(readFileSync(join(CONFORMANCE, name)));
  const view = new DataView(bytes.buffer);
  const first = view.getUint32(4, true);
  for (let i = 0; i < view.getUint16(first, true); i++) {
    const at = first + 2 + i * 12;
    const value = values[view.getUint16(at, true)];
    if (value === undefined) continue;
    view.setUint16(at + 2, 4, true);
    view.setUint32(at + 4, 1, true);
    view.setUint32(at + 8, value, true);
  }
  return bytes;
}

describe('hostile files', () => {
  it(`${CASES} seeded mutations of the conformance fixtures fail cleanly or read`, async () => {
    const r = prng(SEED);
    let failed = 0;
    for (let i = 0; i < CASES; i++) {
      const fixture = fixtures[i % fixtures.length]!;
      const { data, what } = mutate(fixture.bytes, r);
      const url = `mem://fuzz/${i}/${fixture.name}`;
      try {
        await exercise(new MemorySource(data, url));
      } catch (err) {
        failed++;
        if (!(err instanceof DataboxError) || !err.message.includes(url)) {
          throw new Error(`case ${i} (seed ${SEED}, ${fixture.name}, ${what}) threw ${String(err)}`, { cause: err });
        }
      }
    }
    // Most mutations must be caught; a fuzzer whose cases all pass tests nothing.
    expect(failed).toBeGreaterThan(CASES / 4);
  }, 240_000);

  it('mutated files read from disk fail as cleanly as from memory', async () => {
    // The file source allocates by the length asked; a hostile block size must be caught before it.
    const dir = mkdtempSync(join(tmpdir(), 'databox-fuzz-'));
    try {
      const r = prng(SEED + 1);
      for (let i = 0; i < 300; i++) {
        const fixture = fixtures[i % fixtures.length]!;
        const { data, what } = mutate(fixture.bytes, r);
        const path = join(dir, `${i}-${fixture.name}`);
        writeFileSync(path, data);
        try {
          await exercise(path);
        } catch (err) {
          if (!(err instanceof DataboxError) || !err.message.includes(path)) {
            throw new Error(`file case ${i} (seed ${SEED + 1}, ${fixture.name}, ${what}) threw ${String(err)}`, { cause: err });
          }
        }
        rmSync(path);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('a tile claiming 3 GB in a small file is refused before it is read', async () => {
    const bytes = new Uint8Array(readFileSync(join(CONFORMANCE, 'u16_zstd_tiled.tif')));
    const view = new DataView(bytes.buffer);
    const first = view.getUint32(4, true);
    for (let i = 0; i < view.getUint16(first, true); i++) {
      const at = first + 2 + i * 12;
      if (view.getUint16(at, true) === 325) view.setUint32(view.getUint32(at + 8, true), 3_000_000_000, true);
    }
    const dir = mkdtempSync(join(tmpdir(), 'databox-fuzz-'));
    const path = join(dir, 'bigcount.tif');
    writeFileSync(path, bytes);
    try {
      await expect(openGeoTiff(path)).rejects.toThrow(/bigcount\.tif: IFD 0 tile 0 claims 3000000000 bytes at offset \d+, past the end of the file/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('duplicated tags are read once: the first wins, as in libtiff', async () => {
    const bytes = new Uint8Array(readFileSync(join(CONFORMANCE, 'u8_packbits_strips.tif')));
    const view = new DataView(bytes.buffer);
    const first = view.getUint32(4, true);
    const count = view.getUint16(first, true);
    // Turn the last entry into a second ImageWidth that would make the image unreadable if it won.
    const last = first + 2 + (count - 1) * 12;
    view.setUint16(last, 256, true);
    view.setUint16(last + 2, 4, true);
    view.setUint32(last + 4, 1, true);
    view.setUint32(last + 8, 1_000_000_000, true);
    const tiff = await openGeoTiff(new MemorySource(bytes, 'mem://dup.tif'));
    expect(tiff.width).toBe(294);
  });

  it('an IFD chain that loops is refused, not followed forever', async () => {
    const bytes = new Uint8Array(readFileSync(join(CONFORMANCE, 'u8_packbits_strips.tif')));
    const view = new DataView(bytes.buffer);
    const first = view.getUint32(4, true);
    const count = view.getUint16(first, true);
    view.setUint32(first + 2 + count * 12, first, true);
    await expect(openGeoTiff(new MemorySource(bytes, 'mem://loop.tif'))).rejects.toThrow(/mem:\/\/loop\.tif: IFD chain loops back to offset/);
  });

  it('a header claiming 10⁹ × 10⁹ pixels is refused before anything is allocated', async () => {
    const bytes = withLongTags('u16_zstd_tiled.tif', { 256: 1_000_000_000, 257: 1_000_000_000 });
    const before = process.memoryUsage().arrayBuffers;
    await expect(openGeoTiff(new MemorySource(bytes, 'mem://huge.tif'))).rejects.toThrow(/mem:\/\/huge\.tif: .*1000000000×1000000000/);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024);
  });

  it('a strip claiming a gigantic decoded size is refused before decoding', async () => {
    const bytes = withLongTags('u8_packbits_strips.tif', { 256: 2_000_000_000 });
    await expect(openGeoTiff(new MemorySource(bytes, 'mem://wide.tif'))).rejects.toThrow(/mem:\/\/wide\.tif: .*more than the \d+-byte limit/);
  });
});
