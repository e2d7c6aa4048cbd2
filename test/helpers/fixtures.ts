import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TypedArray } from '../../src/raster/index.js';

/** The shared fixtures beside the checkout (`../shared`). */
export const SHARED = fileURLToPath(new URL('../../../shared/', import.meta.url));
export const CONFORMANCE = join(SHARED, 'fixtures', 'conformance');
export const REAL = join(SHARED, 'fixtures', 'real');
export const LANDSAT8 = join(REAL, 'landsat8');
export const L8_RED = join(LANDSAT8, 'LC08_L1TP_195025_20130707_20170503_01_T1_B4.TIF');
export const L8_NIR = join(LANDSAT8, 'LC08_L1TP_195025_20130707_20170503_01_T1_B5.TIF');

export interface ExpectedFile {
  width: number;
  height: number;
  bands: number;
  dtype: string;
  geotransform: number[];
  epsg: number | null;
  nodata: number | null;
  block: [number, number];
  compression: string;
  layout?: string;
  pixels: { sha256_le: string; min: number; max: number; sum: number }[];
  overviews?: { width: number; height: number; sha256_le: string }[];
}

export const EXPECTED = JSON.parse(readFileSync(join(CONFORMANCE, 'expected.json'), 'utf8')) as Record<string, ExpectedFile>;

/** SHA-256 of a band's little-endian bytes (this machine is little-endian, as Node on x86 and ARM is). */
export function sha256(array: TypedArray): string {
  return createHash('sha256').update(new Uint8Array(array.buffer, array.byteOffset, array.byteLength)).digest('hex');
}

/** A fresh temp directory and its remover, one per test file. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `databox-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
