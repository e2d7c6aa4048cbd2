// What the GeoTIFF fuzzer does with each damaged file, and the command that replays one:
//
//   node fuzz/tiff-read.mjs FILE.tif     (after `npm run build`)
//
// prints how the reader took it and exits 1 when that is a finding (anything but a clean read or a
// DataboxError with a code whose message names the file). `--file` reads it through the file source
// instead of from memory, `--pool` decodes in a codec thread pool, as the case did.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { CodecPool, DataboxError, inThreadCodecs, openGeoTiff } from '../dist/index.js';

/** The window read at each corner of each level: big enough to span several blocks, small enough to stay fast. */
const WINDOW = 48;
/** Levels read at most: a damaged chain may declare many overviews. */
const MAX_LEVELS = 8;

/** A ByteSource over bytes in memory, as a remote source behaves: reads past the end come back short. */
export class MemorySource {
  constructor(bytes, url) {
    this.bytes = bytes;
    this.url = url;
  }
  async size() {
    return this.bytes.length;
  }
  async read(offset, length) {
    return this.bytes.slice(offset, offset + length); // a fresh buffer, as real sources give
  }
  async close() {}
}

/**
 * Opens the file (a path, read through the file source, or a ByteSource), takes its description, and
 * reads every band of the top-left and bottom-right windows of every level, so blocks at both ends of
 * each block table are fetched and decoded. Codecs run in this thread unless a pool is given (whose
 * errors cross a thread boundary before they reach the caller).
 */
export async function exercise(target, codecs = inThreadCodecs) {
  const tiff = await openGeoTiff(target, { codecs });
  try {
    tiff.info();
    for (let level = 0; level < Math.min(tiff.levels.length, MAX_LEVELS); level++) {
      const image = tiff.levels[level];
      const width = Math.min(image.width, WINDOW);
      const height = Math.min(image.height, WINDOW);
      await tiff.readWindow({ level, window: { x: 0, y: 0, width, height } });
      if (image.width > WINDOW || image.height > WINDOW) {
        await tiff.readWindow({ level, window: { x: image.width - width, y: image.height - height, width, height } });
      }
    }
  } finally {
    await tiff.close();
  }
}

/**
 * How the reader took one file: `read` (it read), `refused` (a DataboxError with a code naming the
 * file: the right answer to a bad file), `unnamed` (a DataboxError whose message does not name the
 * file), or `crash` (anything else thrown: a TypeError, a RangeError, a plain Error).
 */
export async function classify(target, url, codecs = inThreadCodecs) {
  try {
    await exercise(target, codecs);
    return { outcome: 'read' };
  } catch (err) {
    if (err instanceof DataboxError && typeof err.code === 'string' && err.code.length > 0) {
      if (!err.message.includes(url)) return { outcome: 'unnamed', code: err.code, message: err.message };
      return { outcome: 'refused', code: err.code };
    }
    return { outcome: 'crash', error: err?.name ?? typeof err, message: String(err?.message ?? err), stack: String(err?.stack ?? '').split('\n').slice(0, 8).join('\n') };
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = process.argv[2];
  if (file === undefined) {
    console.error('usage: node fuzz/tiff-read.mjs FILE.tif');
    process.exit(2);
  }
  const path = resolve(file);
  const t0 = performance.now();
  // From memory, as most cases ran; `--file` reads through the file source instead.
  const target = process.argv.includes('--file') ? path : new MemorySource(new Uint8Array(readFileSync(path)), path);
  const pool = process.argv.includes('--pool') ? new CodecPool(1) : undefined;
  const result = await classify(target, path, pool);
  await pool?.close();
  console.log(JSON.stringify({ file: path, ms: Math.round(performance.now() - t0), ...result }, null, 2));
  process.exit(result.outcome === 'crash' || result.outcome === 'unnamed' ? 1 : 0);
}
