// How the GeoTIFF fuzzer damages a file. A blind byte flipper mostly breaks the first bytes and the
// pixels; the bugs that matter sit in the structure (IFD entries, block tables, sizes, codec tags,
// GeoKeys, the IFD chain), so most mutations find that structure with a small walker and aim at it.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
const root = join(here, '..');

/** Seed files larger than this are left out: each case copies and reads its seed whole. */
const MAX_SEED_BYTES = 32 * 1024;

/**
 * The seed files, in a fixed order (so a seed number names the same cases on every machine): the small
 * crops in fuzz/seeds (made by fuzz/make-seeds.sh from the conformance fixtures: every codec, predictor,
 * data type, strips and tiles, interleaves, BigTIFF, a COG with overviews), the GeoKey-rich CRS fixtures
 * of test/fixtures/crs, and the small real files in ../shared/fixtures/real when that folder is there.
 */
export function seedFiles() {
  const dirs = [join(here, 'seeds'), join(root, 'test', 'fixtures', 'crs'), join(root, '..', 'shared', 'fixtures', 'real'), join(root, '..', 'shared', 'fixtures', 'real', 'landsat8')];
  const files = [];
  for (const dir of dirs) {
    let names;
    try {
      names = readdirSync(dir).sort();
    } catch {
      continue; // the shared fixtures are optional
    }
    for (const name of names) {
      if (!/\.tiff?$/i.test(name)) continue;
      const path = join(dir, name);
      if (statSync(path).size <= MAX_SEED_BYTES) files.push({ name: `${dir === join(here, 'seeds') ? 'seeds' : dir.split('/').slice(-1)[0]}/${name}`, path });
    }
  }
  return files;
}

export function loadSeeds() {
  return seedFiles().map((f) => ({ ...f, bytes: new Uint8Array(readFileSync(f.path)) }));
}

const TYPE_SIZE = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8 };
const MAX_IFDS = 32;

/** The IFDs and entries of a (possibly already damaged) TIFF, as far as they can be walked; null if not a TIFF. */
export function walk(bytes) {
  if (bytes.length < 16) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = bytes[0] === 0x49;
  const big = view.getUint16(2, le) === 43;
  const len = bytes.length;
  const word = (at) => (big ? Number(view.getBigUint64(at, le)) : view.getUint32(at, le));
  const countSize = big ? 8 : 2;
  const entrySize = big ? 20 : 12;
  const ifds = [];
  const seen = new Set();
  let offset = word(big ? 8 : 4);
  while (offset > 0 && offset + countSize <= len && ifds.length < MAX_IFDS && !seen.has(offset)) {
    seen.add(offset);
    const n = big ? Number(view.getBigUint64(offset, le)) : view.getUint16(offset, le);
    const entries = [];
    for (let i = 0; i < n && offset + countSize + (i + 1) * entrySize <= len; i++) {
      const at = offset + countSize + i * entrySize;
      const type = view.getUint16(at + 2, le);
      const count = big ? Number(view.getBigUint64(at + 4, le)) : view.getUint32(at + 4, le);
      const valueAt = at + (big ? 12 : 8);
      const inline = (TYPE_SIZE[type] ?? 1) * count <= (big ? 8 : 4);
      entries.push({ at, tag: view.getUint16(at, le), type, count, valueAt, dataAt: inline ? valueAt : word(valueAt) });
    }
    const nextAt = offset + countSize + n * entrySize;
    ifds.push({ offset, entries, nextAt });
    if (nextAt + (big ? 8 : 4) > len) break;
    offset = word(nextAt);
  }
  return { le, big, view, ifds, firstAt: big ? 8 : 4, len };
}

/** Writes an unsigned integer of `size` bytes; silently nothing where it would not fit in the file. */
function put(t, at, size, value) {
  if (at < 0 || at + size > t.len) return;
  const v = t.view;
  // A float meant for a float tag may land in an integer one (after an `entry type` mutation): truncated.
  const n = typeof value === 'bigint' ? value : BigInt(Number.isFinite(value) ? Math.trunc(value) : 0);
  if (size === 1) v.setUint8(at, Number(BigInt.asUintN(8, n)));
  else if (size === 2) v.setUint16(at, Number(BigInt.asUintN(16, n)), t.le);
  else if (size === 4) v.setUint32(at, Number(BigInt.asUintN(32, n)), t.le);
  else v.setBigUint64(at, BigInt.asUintN(64, n), t.le);
}

/** Sets element `i` of an entry's value, whatever its type (floats get the value as a float). */
function setElement(t, e, i, value) {
  const size = TYPE_SIZE[e.type] ?? 4;
  const at = e.dataAt + i * size;
  if (at < 0 || at + size > t.len) return;
  if (e.type === 11) t.view.setFloat32(at, Number(value), t.le);
  else if (e.type === 12) t.view.setFloat64(at, Number(value), t.le);
  else if (e.type === 5 || e.type === 10) put(t, at, 4, value);
  else put(t, at, Math.min(size, 8), value);
}

const interestingInts = (len) => [0, 1, 2, 3, 7, 8, 15, 16, 17, 255, 256, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, len - 1, len, len + 1, len * 2];
const INTERESTING_64 = [2n ** 32n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n];
const INTERESTING_FLOATS = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 0, -0, -1, 1e-320, 1e308, -1e308, 2 ** 53];
const DIMENSIONS = [0, 1, 2, 3, 15, 17, 255, 4097, 65535, 65536, 100_000, 1_000_000, 0x7fffffff, 0xffffffff];
const TAG_VALUES = {
  254: [0, 1, 2, 4, 5, 7, 0xffffffff], // NewSubfileType: overview, mask, both
  258: [0, 1, 2, 4, 7, 8, 12, 16, 24, 32, 64, 128, 65535], // BitsPerSample
  259: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 32773, 32946, 34712, 34887, 34925, 50000, 50001, 65535], // Compression
  262: [0, 1, 2, 3, 4, 5, 6, 8, 32844, 65535], // Photometric
  277: [0, 1, 2, 3, 4, 5, 255, 256, 65535], // SamplesPerPixel
  284: [0, 1, 2, 3, 65535], // PlanarConfiguration
  317: [0, 1, 2, 3, 4, 34892, 65535], // Predictor
  338: [0, 1, 2, 3, 65535], // ExtraSamples
  339: [0, 1, 2, 3, 4, 5, 6, 7, 65535], // SampleFormat
  530: [0, 1, 2, 3, 4, 8, 65535], // YCbCrSubSampling
};
const DIMENSION_TAGS = [256, 257, 278, 322, 323]; // width, height, rows per strip, tile width, tile height
const TABLE_TAGS = [273, 279, 324, 325]; // strip offsets, strip byte counts, tile offsets, tile byte counts
const FLOAT_TAGS = [33550, 33922, 34264, 34736, 42113]; // pixel scale, tiepoints, transformation, GeoDoubleParams, GDAL nodata
const KNOWN_TAGS = [254, 256, 257, 258, 259, 262, 273, 277, 278, 279, 284, 317, 322, 323, 324, 325, 338, 339, 347, 530, 33550, 33922, 34264, 34735, 34736, 34737, 42112, 42113, 50674];

/** A position biased to the first 4 KB, where COGs keep every IFD. */
const headerPos = (t, r) => r.int(r.chance(0.8) ? Math.min(t.len, 4096) : t.len);
const entries = (t) => t.ifds.flatMap((ifd, n) => ifd.entries.map((e) => ({ ...e, ifd: n })));
const entriesOf = (t, tags) => entries(t).filter((e) => tags.includes(e.tag));

/** Each mutation damages `t` in place and says what it did; one that finds nothing to aim at returns null. */
const MUTATIONS = [
  ['bit flips', 2, (t, r) => {
    const n = 1 + r.int(8);
    const at = [];
    for (let i = 0; i < n; i++) {
      const p = headerPos(t, r);
      t.view.setUint8(p, t.view.getUint8(p) ^ (1 << r.int(8)));
      at.push(p);
    }
    return `flipped a bit at ${at.join(',')}`;
  }],
  ['interesting value', 2, (t, r) => {
    const size = r.pick([1, 2, 4, 4, 8]);
    const at = headerPos(t, r);
    const value = size === 8 && r.chance(0.5) ? r.pick(INTERESTING_64) : r.pick(interestingInts(t.len));
    put(t, at, size, value);
    return `wrote ${value} as ${size} bytes at ${at}`;
  }],
  ['entry value', 3, (t, r) => {
    const e = r.pick(entries(t));
    if (e === undefined) return null;
    const i = r.chance(0.7) ? 0 : r.int(Math.max(1, Math.min(e.count, 1 << 20)));
    const value = e.type === 11 || e.type === 12 ? r.pick(INTERESTING_FLOATS) : r.pick(interestingInts(t.len));
    setElement(t, e, i, value);
    return `IFD ${e.ifd} tag ${e.tag}[${i}] = ${value}`;
  }],
  ['entry count', 2, (t, r) => {
    const e = r.pick(entries(t));
    if (e === undefined) return null;
    const value = r.pick([0, 1, 2, e.count - 1, e.count + 1, e.count * 2, 0xffff, 0x10000, 0x7fffffff, 0xffffffff]);
    put(t, e.at + 4, t.big ? 8 : 4, Math.max(0, value));
    return `IFD ${e.ifd} tag ${e.tag} count ${e.count} -> ${value}`;
  }],
  ['entry type', 2, (t, r) => {
    const e = r.pick(entries(t));
    if (e === undefined) return null;
    const type = r.chance(0.8) ? r.int(20) : r.pick([255, 0x7fff, 0xffff]);
    put(t, e.at + 2, 2, type);
    return `IFD ${e.ifd} tag ${e.tag} type ${e.type} -> ${type}`;
  }],
  ['entry offset', 2, (t, r) => {
    const e = r.pick(entries(t).filter((x) => x.dataAt !== x.valueAt));
    if (e === undefined) return null;
    const value = r.chance(0.3) ? r.pick(INTERESTING_64) : r.pick(interestingInts(t.len));
    put(t, e.valueAt, t.big ? 8 : 4, value);
    return `IFD ${e.ifd} tag ${e.tag} data offset -> ${value}`;
  }],
  ['entry tag', 1, (t, r) => {
    const e = r.pick(entries(t));
    if (e === undefined) return null;
    const tag = r.chance(0.8) ? r.pick(KNOWN_TAGS) : r.int(65536);
    put(t, e.at, 2, tag);
    return `IFD ${e.ifd} tag ${e.tag} -> ${tag}`;
  }],
  ['IFD entry count', 1, (t, r) => {
    const ifd = r.pick(t.ifds);
    if (ifd === undefined) return null;
    const n = ifd.entries.length;
    const value = r.pick([0, 1, n - 1, n + 1, n + 7, 0xff, 0xffff]);
    put(t, ifd.offset, t.big ? 8 : 2, Math.max(0, value));
    return `IFD at ${ifd.offset} entry count ${n} -> ${value}`;
  }],
  ['IFD chain', 2, (t, r) => {
    const ifd = r.pick(t.ifds);
    if (ifd === undefined) return null;
    // Loops (to itself, to the first IFD, to an earlier one), into the middle of an entry, or out of range.
    const to = r.pick([ifd.offset, t.ifds[0].offset, r.pick(t.ifds).offset, ifd.offset + 2, ifd.offset + 1, t.len, t.len - 1, 0xffffffff, t.ifds[t.ifds.length - 1].offset]);
    put(t, ifd.nextAt, t.big ? 8 : 4, to);
    return `IFD at ${ifd.offset} next -> ${to}`;
  }],
  ['first IFD', 1, (t, r) => {
    const to = r.pick([0, 1, 7, 8, 16, t.len - 2, t.len, 0xffffffff, 0x7fffffff]);
    put(t, t.firstAt, t.big ? 8 : 4, to);
    return `first IFD -> ${to}`;
  }],
  ['block table', 3, (t, r) => {
    const e = r.pick(entriesOf(t, TABLE_TAGS));
    if (e === undefined) return null;
    const value = r.pick([0, 1, t.len - 1, t.len, t.len + 1, 0x7fffffff, 0x80000000, 0xffffffff, 2 ** 40]);
    const all = r.chance(0.3);
    const n = all ? Math.min(e.count, 4096) : 1;
    const first = all ? 0 : r.int(Math.max(1, Math.min(e.count, 4096)));
    for (let i = first; i < first + n; i++) setElement(t, e, i, value);
    return `IFD ${e.ifd} tag ${e.tag}[${all ? 'all' : first}] = ${value}`;
  }],
  ['dimensions', 3, (t, r) => {
    const e = r.pick(entriesOf(t, DIMENSION_TAGS));
    if (e === undefined) return null;
    const value = r.pick(DIMENSIONS);
    setElement(t, e, 0, value);
    return `IFD ${e.ifd} tag ${e.tag} = ${value}`;
  }],
  ['codec tags', 3, (t, r) => {
    const e = r.pick(entriesOf(t, Object.keys(TAG_VALUES).map(Number)));
    if (e === undefined) return null;
    const value = r.pick(TAG_VALUES[e.tag]);
    const i = r.int(Math.max(1, Math.min(e.count, 16)));
    setElement(t, e, i, value);
    return `IFD ${e.ifd} tag ${e.tag}[${i}] = ${value}`;
  }],
  ['GeoKey directory', 3, (t, r) => {
    const e = r.pick(entriesOf(t, [34735]));
    if (e === undefined) return null;
    // Header (version, revision, minor, key count) or one key's (id, location, count, value/offset).
    const i = r.chance(0.2) ? r.int(4) : 4 + r.int(Math.max(1, e.count - 4));
    const value = r.pick([0, 1, 2, 0x7fff, 0xffff, 34735, 34736, 34737, 1024, 2048, 3072, 4096, 32767, e.count, e.count + 1, r.int(65536)]);
    setElement(t, e, i, value);
    return `GeoKeyDirectory[${i}] = ${value}`;
  }],
  ['georeferencing numbers', 2, (t, r) => {
    const e = r.pick(entriesOf(t, FLOAT_TAGS));
    if (e === undefined) return null;
    const i = r.int(Math.max(1, Math.min(e.count, 64)));
    const value = r.pick(INTERESTING_FLOATS);
    if (e.type === 2) put(t, e.dataAt + i, 1, r.int(256)); // GDAL's nodata is ASCII
    else setElement(t, e, i, value);
    return `IFD ${e.ifd} tag ${e.tag}[${i}] = ${e.type === 2 ? 'a random byte' : value}`;
  }],
  ['ASCII params', 1, (t, r) => {
    const e = r.pick(entriesOf(t, [34737, 42112, 305, 270]));
    if (e === undefined) return null;
    const at = e.dataAt + r.int(Math.max(1, e.count));
    const b = r.pick([0, 0x7c, 0xff, 0xc3, 0x80, 0x22]);
    put(t, at, 1, b);
    return `IFD ${e.ifd} tag ${e.tag} byte at ${at} = ${b}`;
  }],
  ['block bytes', 2, (t, r) => {
    // Damage inside a tile or strip: the codecs see a corrupt stream with a believable size.
    const offsets = r.pick(entriesOf(t, [273, 324]));
    if (offsets === undefined || offsets.count === 0) return null;
    const size = TYPE_SIZE[offsets.type] ?? 4;
    const i = r.int(Math.min(offsets.count, 4096));
    const at = offsets.dataAt + i * size;
    if (at + size > t.len) return null;
    const start = size === 8 ? Number(t.view.getBigUint64(at, t.le)) : size === 2 ? t.view.getUint16(at, t.le) : t.view.getUint32(at, t.le);
    if (start >= t.len) return null;
    const n = 1 + r.int(16);
    for (let k = 0; k < n; k++) put(t, start + r.int(Math.min(256, t.len - start)), 1, r.int(256));
    return `${n} random bytes in block ${i} at ${start}`;
  }],
  ['splice', 1, (t, r) => {
    const from = r.int(t.len);
    const to = headerPos(t, r);
    const n = Math.min(1 + r.int(64), t.len - from, t.len - to);
    new Uint8Array(t.view.buffer, t.view.byteOffset, t.len).copyWithin(to, from, from + n);
    return `copied ${n} bytes from ${from} to ${to}`;
  }],
];

const TOTAL_WEIGHT = MUTATIONS.reduce((s, [, w]) => s + w, 0);

function pickMutation(r) {
  let x = r.float() * TOTAL_WEIGHT;
  for (const m of MUTATIONS) {
    x -= m[1];
    if (x < 0) return m;
  }
  return MUTATIONS[MUTATIONS.length - 1];
}

/**
 * One case: a seed chosen by the case's generator, damaged by one to three mutations (each aimed at the
 * structure as it stands after the ones before), or cut short. Returns the bytes and what was done.
 */
export function mutate(seeds, r) {
  const seed = r.pick(seeds);
  if (r.chance(0.08)) {
    const cut = r.chance(0.7) ? r.int(Math.min(seed.bytes.length, 4096)) : r.int(seed.bytes.length);
    return { seed: seed.name, data: seed.bytes.slice(0, cut), what: [`truncated to ${cut} bytes`] };
  }
  const data = seed.bytes.slice();
  const what = [];
  const n = 1 + (r.chance(0.35) ? 1 + r.int(2) : 0);
  for (let k = 0; k < n; k++) {
    const t = walk(data);
    if (t === null) break;
    for (let tries = 0; tries < 4; tries++) {
      const [, , fn] = pickMutation(r);
      const did = fn(t, r);
      if (did !== null) {
        what.push(did);
        break;
      }
    }
  }
  return { seed: seed.name, data, what };
}
