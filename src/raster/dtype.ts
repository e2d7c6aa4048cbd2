/** Pixel types, named as GDAL names them, with their TIFF encoding and their typed array. */

export const DTYPES = ['Byte', 'Int16', 'UInt16', 'Int32', 'UInt32', 'Float32', 'Float64'] as const;
export type DType = (typeof DTYPES)[number];

export type TypedArray =
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array;

export interface DTypeInfo {
  /** GDAL's name. */
  name: DType;
  /** Bytes per sample. */
  bytes: 1 | 2 | 4 | 8;
  /** TIFF SampleFormat: 1 unsigned integer, 2 signed integer, 3 IEEE float. */
  sampleFormat: 1 | 2 | 3;
  /** True for Float32 and Float64. */
  float: boolean;
  /** Smallest and largest value the type holds. */
  min: number;
  max: number;
}

const INFO: Record<DType, DTypeInfo> = {
  Byte: { name: 'Byte', bytes: 1, sampleFormat: 1, float: false, min: 0, max: 255 },
  Int16: { name: 'Int16', bytes: 2, sampleFormat: 2, float: false, min: -32768, max: 32767 },
  UInt16: { name: 'UInt16', bytes: 2, sampleFormat: 1, float: false, min: 0, max: 65535 },
  Int32: { name: 'Int32', bytes: 4, sampleFormat: 2, float: false, min: -2147483648, max: 2147483647 },
  UInt32: { name: 'UInt32', bytes: 4, sampleFormat: 1, float: false, min: 0, max: 4294967295 },
  Float32: { name: 'Float32', bytes: 4, sampleFormat: 3, float: true, min: -3.4028234663852886e38, max: 3.4028234663852886e38 },
  Float64: { name: 'Float64', bytes: 8, sampleFormat: 3, float: true, min: -Number.MAX_VALUE, max: Number.MAX_VALUE },
};

export function dtypeInfo(dtype: DType): DTypeInfo {
  return INFO[dtype];
}

/** The GDAL type for TIFF BitsPerSample and SampleFormat, or undefined when we do not support the pair. */
export function dtypeFromTiff(bitsPerSample: number, sampleFormat: number): DType | undefined {
  for (const info of Object.values(INFO)) {
    if (info.bytes * 8 === bitsPerSample && info.sampleFormat === sampleFormat) return info.name;
  }
  return undefined;
}

/** A new zero-filled typed array of `length` samples of `dtype`. */
export function allocate(dtype: DType, length: number): TypedArray {
  switch (dtype) {
    case 'Byte':
      return new Uint8Array(length);
    case 'Int16':
      return new Int16Array(length);
    case 'UInt16':
      return new Uint16Array(length);
    case 'Int32':
      return new Int32Array(length);
    case 'UInt32':
      return new Uint32Array(length);
    case 'Float32':
      return new Float32Array(length);
    case 'Float64':
      return new Float64Array(length);
  }
}

/**
 * `count` zero-filled typed arrays of `dtype` and `length` samples, views on one buffer: a
 * SharedArrayBuffer when `shared`, which codec threads can write into. One allocation, not one per
 * band: every backing store costs V8 bookkeeping and a GC check, so 65,535 bands of a 48×48 window
 * (a hostile header's SamplesPerPixel) took 37 s apart and milliseconds together.
 */
export function allocateBands(dtype: DType, length: number, count: number, shared: boolean): TypedArray[] {
  const bytes = length * INFO[dtype].bytes;
  const buffer = shared ? new SharedArrayBuffer(bytes * count) : new ArrayBuffer(bytes * count);
  return Array.from({ length: count }, (_, i) => viewAs(dtype, new Uint8Array(buffer, i * bytes, bytes)));
}

/** A typed array of `dtype` viewing `bytes` (little-endian samples); copies only when misaligned. */
export function viewAs(dtype: DType, bytes: Uint8Array): TypedArray {
  const size = INFO[dtype].bytes;
  const buf = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
  const n = Math.floor(buf.byteLength / size);
  switch (dtype) {
    case 'Byte':
      return buf;
    case 'Int16':
      return new Int16Array(buf.buffer, buf.byteOffset, n);
    case 'UInt16':
      return new Uint16Array(buf.buffer, buf.byteOffset, n);
    case 'Int32':
      return new Int32Array(buf.buffer, buf.byteOffset, n);
    case 'UInt32':
      return new Uint32Array(buf.buffer, buf.byteOffset, n);
    case 'Float32':
      return new Float32Array(buf.buffer, buf.byteOffset, n);
    case 'Float64':
      return new Float64Array(buf.buffer, buf.byteOffset, n);
  }
}

/** The little-endian bytes behind a typed array (a view, no copy). */
export function bytesOf(array: TypedArray): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

/**
 * The nodata value as pixels of `dtype` hold it, for comparing and filling: Float32 rounds it to single
 * precision (so 0.1 matches the pixels written as 0.1), integers keep it only when the type can hold it
 * (GDAL keeps an out-of-range value in the tag, but no pixel can equal it). Null when no pixel can match.
 */
export function storedNodata(dtype: DType, nodata: number | null): number | null {
  if (nodata === null) return null;
  const info = INFO[dtype];
  if (info.float) return dtype === 'Float32' ? Math.fround(nodata) : nodata;
  return Number.isInteger(nodata) && nodata >= info.min && nodata <= info.max ? nodata : null;
}
