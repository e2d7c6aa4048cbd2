import type { BlockLayout } from '../../src/raster/codecs/index.js';
import { prng as rng } from '../helpers/prng.js';

/** The sample types a TIFF block can hold, as (name, bytes per sample, SampleFormat). */
export const DTYPES = [
  { name: 'u8', bytes: 1, sampleFormat: 1 },
  { name: 'i16', bytes: 2, sampleFormat: 2 },
  { name: 'u16', bytes: 2, sampleFormat: 1 },
  { name: 'i32', bytes: 4, sampleFormat: 2 },
  { name: 'u32', bytes: 4, sampleFormat: 1 },
  { name: 'f32', bytes: 4, sampleFormat: 3 },
  { name: 'f64', bytes: 8, sampleFormat: 3 },
] as const;
export type DTypeCase = (typeof DTYPES)[number];

export { rng };


/**
 * Little-endian samples of a smooth field with a little noise, spanning the type's range: negative
 * values for signed types, values near 2^32 (so differences wrap) for u32, and for floats both signs,
 * fractions and a few special values (±0, ±Infinity, NaN, subnormals).
 */
export function smoothSamples(dtype: DTypeCase, width: number, height: number, spp: number, seed = 1): Uint8Array {
  const random = rng(seed);
  const n = width * height * spp;
  const bytes = new Uint8Array(n * dtype.bytes);
  const view = new DataView(bytes.buffer);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let s = 0; s < spp; s++) {
        const i = (y * width + x) * spp + s;
        const wave = Math.sin(x / 11 + s) * Math.cos(y / 7 - s); // -1..1
        const noise = random() - 0.5;
        const at = i * dtype.bytes;
        switch (dtype.name) {
          case 'u8':
            view.setUint8(at, Math.round(127 + 110 * wave + 16 * noise));
            break;
          case 'i16':
            view.setInt16(at, Math.round(32000 * wave + 500 * noise), true);
            break;
          case 'u16':
            view.setUint16(at, Math.round(32768 + 32000 * wave + 500 * noise), true);
            break;
          case 'i32':
            view.setInt32(at, Math.round(2.1e9 * wave + 1e5 * noise), true);
            break;
          case 'u32':
            view.setUint32(at, Math.round(2.1e9 + 2.1e9 * wave + 1e5 * noise), true);
            break;
          case 'f32':
            view.setFloat32(at, special(i) ?? 1234.5 * wave + noise * 1e-3, true);
            break;
          case 'f64':
            view.setFloat64(at, special(i) ?? 1e12 * wave + noise * 1e-9, true);
            break;
        }
      }
    }
  }
  return bytes;
}

const SPECIALS = [0, -0, Infinity, -Infinity, NaN, 1e-40, -5e-324];
function special(i: number): number | undefined {
  return i % 97 === 13 ? SPECIALS[(i / 97) % SPECIALS.length | 0] : undefined;
}

/** A block layout with everything defaulted but what the test names. */
export function layoutFor(
  dtype: { name: string; bytes: number; sampleFormat: number },
  fields: Partial<BlockLayout> & Pick<BlockLayout, 'compression'>,
): BlockLayout & { level?: number } {
  return {
    predictor: 1,
    width: 33,
    height: 17,
    samplesPerPixel: 1,
    bytesPerSample: dtype.bytes,
    sampleFormat: dtype.sampleFormat,
    littleEndian: true,
    where: `test block (${dtype.name})`,
    ...fields,
  };
}

/** Byte-equal, with a readable failure. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}
