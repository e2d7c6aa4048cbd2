import type { ByteSource, ReadOptions } from '../../storage/index.js';
import { TiffError } from '../errors.js';
import { Tag, fieldTypeSize } from './tags.js';

/**
 * The low level of the reader: the TIFF header and the chain of Image File Directories, read through a
 * ByteSource. We parse TIFF ourselves rather than through geotiff.js or @cogeotiff/core because every
 * length and offset in a hostile file must be checked against the file before anything is allocated,
 * and every failure must come out as a TiffError that names the file.
 */

/** A tag's value: numbers for numeric types, text for ASCII, raw bytes for UNDEFINED. */
export type TagValue = Float64Array | string | Uint8Array;

export interface Ifd {
  /** Position of this IFD in the chain, 0 first. */
  index: number;
  /** Byte offset of the IFD in the file. */
  offset: number;
  /** Loaded values of the tags the reader uses; other tags are skipped. */
  tags: Map<number, TagValue>;
}

export interface TiffStructure {
  littleEndian: boolean;
  bigTiff: boolean;
  /** Size of the file in bytes. */
  fileSize: number;
  ifds: Ifd[];
}

/** Limits that keep a hostile file from making us loop or allocate without cause. */
export const TIFF_LIMITS = {
  /** Most IFDs we follow in one chain. */
  maxIfds: 4096,
  /** Most entries in one IFD. */
  maxEntries: 4096,
  /** Most bytes of one tag value we load. */
  maxTagBytes: 256 * 1024 * 1024,
  /** Most values of one numeric tag (each becomes an 8-byte number in memory). */
  maxTagValues: 32 * 1024 * 1024,
  /** Most tag bytes we load from one file, all IFDs together. */
  maxFileTagBytes: 512 * 1024 * 1024,
};

/** The tags whose values the reader needs; all others are skipped without reading. */
const WANTED = new Set<number>([
  Tag.NewSubfileType,
  Tag.ImageWidth,
  Tag.ImageLength,
  Tag.BitsPerSample,
  Tag.Compression,
  Tag.Photometric,
  Tag.StripOffsets,
  Tag.SamplesPerPixel,
  Tag.RowsPerStrip,
  Tag.StripByteCounts,
  Tag.PlanarConfiguration,
  Tag.Predictor,
  Tag.TileWidth,
  Tag.TileLength,
  Tag.TileOffsets,
  Tag.TileByteCounts,
  Tag.ExtraSamples,
  Tag.SampleFormat,
  Tag.JPEGTables,
  Tag.YCbCrSubSampling,
  Tag.ModelPixelScale,
  Tag.ModelTiepoint,
  Tag.ModelTransformation,
  Tag.GeoKeyDirectory,
  Tag.GeoDoubleParams,
  Tag.GeoAsciiParams,
  Tag.GdalMetadata,
  Tag.GdalNodata,
  Tag.LercParameters,
]);

/** Reads exactly `length` bytes or fails with a TiffError saying the file is truncated. */
async function readExact(
  source: ByteSource,
  offset: number,
  length: number,
  what: string,
  options: ReadOptions,
): Promise<DataView> {
  const bytes = await source.read(offset, length, options);
  if (bytes.byteLength < length) {
    throw new TiffError(
      source.url,
      `file is truncated: ${what} needs bytes ${offset}..${offset + length} but the file ends at ${offset + bytes.byteLength}`,
    );
  }
  return new DataView(bytes.buffer, bytes.byteOffset, length);
}

function readUint(view: DataView, at: number, size: 2 | 4 | 8, le: boolean, url: string): number {
  if (size === 2) return view.getUint16(at, le);
  if (size === 4) return view.getUint32(at, le);
  const big = view.getBigUint64(at, le);
  if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new TiffError(url, `64-bit offset or count ${big} is too large`);
  return Number(big);
}

/** Parses the header and every IFD of the chain. */
export async function readTiffStructure(source: ByteSource, options: ReadOptions = {}): Promise<TiffStructure> {
  const url = source.url;
  // Header first, size second: a remote source learns its size from the first ranged response, so
  // asking for it afterwards costs no extra request.
  const first16 = await source.read(0, 16, options);
  const fileSize = await source.size(options);
  if (fileSize < 8 || first16.byteLength < 8) throw new TiffError(url, `not a TIFF: the file has only ${fileSize} bytes`);
  const head = new DataView(first16.buffer, first16.byteOffset, first16.byteLength);
  const bom = head.getUint16(0, false);
  if (bom !== 0x4949 && bom !== 0x4d4d) {
    throw new TiffError(url, `not a TIFF: the first bytes are 0x${bom.toString(16).padStart(4, '0')}, not II or MM`);
  }
  const le = bom === 0x4949;
  const magic = head.getUint16(2, le);
  let bigTiff: boolean;
  let first: number;
  if (magic === 42) {
    bigTiff = false;
    first = head.getUint32(4, le);
  } else if (magic === 43) {
    if (fileSize < 16) throw new TiffError(url, 'file is truncated: the BigTIFF header needs 16 bytes');
    const byteSize = head.getUint16(4, le);
    if (byteSize !== 8) throw new TiffError(url, `BigTIFF header gives an offset size of ${byteSize}, not 8`);
    bigTiff = true;
    first = readUint(head, 8, 8, le, url);
  } else {
    throw new TiffError(url, `not a TIFF: version number is ${magic}, not 42 (TIFF) or 43 (BigTIFF)`);
  }

  const ifds: Ifd[] = [];
  const seen = new Set<number>();
  const budget = { bytes: TIFF_LIMITS.maxFileTagBytes };
  let next = first;
  while (next !== 0) {
    if (seen.has(next)) throw new TiffError(url, `IFD chain loops back to offset ${next}`);
    if (ifds.length >= TIFF_LIMITS.maxIfds) throw new TiffError(url, `more than ${TIFF_LIMITS.maxIfds} IFDs`);
    seen.add(next);
    const { ifd, nextOffset } = await readIfd(source, ifds.length, next, le, bigTiff, fileSize, budget, options);
    ifds.push(ifd);
    next = nextOffset;
  }
  if (ifds.length === 0) throw new TiffError(url, 'the file has no image (first IFD offset is 0)');
  return { littleEndian: le, bigTiff, fileSize, ifds };
}

async function readIfd(
  source: ByteSource,
  index: number,
  offset: number,
  le: boolean,
  bigTiff: boolean,
  fileSize: number,
  budget: { bytes: number },
  options: ReadOptions,
): Promise<{ ifd: Ifd; nextOffset: number }> {
  const url = source.url;
  const countSize = bigTiff ? 8 : 2;
  const entrySize = bigTiff ? 20 : 12;
  const offsetSize = bigTiff ? 8 : 4;
  if (offset + countSize > fileSize) {
    throw new TiffError(url, `IFD ${index} offset ${offset} is past the end of the file (${fileSize} bytes)`);
  }
  const countView = await readExact(source, offset, countSize, `IFD ${index}`, options);
  const count = readUint(countView, 0, bigTiff ? 8 : 2, le, url);
  if (count === 0) throw new TiffError(url, `IFD ${index} at offset ${offset} has no entries`);
  if (count > TIFF_LIMITS.maxEntries) {
    throw new TiffError(url, `IFD ${index} claims ${count} entries, more than the limit of ${TIFF_LIMITS.maxEntries}`);
  }
  const body = await readExact(
    source,
    offset + countSize,
    count * entrySize + offsetSize,
    `IFD ${index} (${count} entries)`,
    options,
  );
  const tags = new Map<number, TagValue>();
  for (let i = 0; i < count; i++) {
    const at = i * entrySize;
    const tag = body.getUint16(at, le);
    const type = body.getUint16(at + 2, le);
    const n = readUint(body, at + 4, bigTiff ? 8 : 4, le, url);
    // As libtiff does, the first of duplicated tags wins; loading each copy would let a small file cost
    // gigabytes of reads.
    if (!WANTED.has(tag) || tags.has(tag)) continue;
    const size = fieldTypeSize(type);
    if (size === undefined) throw new TiffError(url, `tag ${tag} in IFD ${index} has unknown field type ${type}`);
    const bytes = n * size;
    if (bytes > TIFF_LIMITS.maxTagBytes || (type !== 2 && type !== 7 && n > TIFF_LIMITS.maxTagValues)) {
      throw new TiffError(url, `tag ${tag} in IFD ${index} claims ${n} values (${bytes} bytes), more than the limit`);
    }
    budget.bytes -= bytes;
    if (budget.bytes < 0) {
      throw new TiffError(url, `tags of IFDs 0..${index} hold more than ${TIFF_LIMITS.maxFileTagBytes} bytes, more than the limit`);
    }
    let valueView: DataView;
    if (bytes <= offsetSize) {
      valueView = new DataView(body.buffer, body.byteOffset + at + (bigTiff ? 12 : 8), offsetSize);
    } else {
      const valueOffset = readUint(body, at + (bigTiff ? 12 : 8), bigTiff ? 8 : 4, le, url);
      if (valueOffset + bytes > fileSize) {
        throw new TiffError(
          url,
          `tag ${tag} in IFD ${index} points to bytes ${valueOffset}..${valueOffset + bytes}, past the end of the file (${fileSize} bytes)`,
        );
      }
      valueView = await readExact(source, valueOffset, bytes, `tag ${tag} of IFD ${index}`, options);
    }
    tags.set(tag, decodeValue(valueView, type, n, le, url, tag));
  }
  const nextOffset = readUint(body, count * entrySize, bigTiff ? 8 : 4, le, url);
  return { ifd: { index, offset, tags }, nextOffset };
}

function decodeValue(view: DataView, type: number, n: number, le: boolean, url: string, tag: number): TagValue {
  switch (type) {
    case 2: {
      const bytes = new Uint8Array(view.buffer, view.byteOffset, n);
      const end = bytes.indexOf(0);
      return new TextDecoder('latin1').decode(end < 0 ? bytes : bytes.subarray(0, end));
    }
    case 7:
      return new Uint8Array(view.buffer, view.byteOffset, n).slice();
    default: {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = readNumber(view, type, i, le, url, tag);
      return out;
    }
  }
}

function readNumber(view: DataView, type: number, i: number, le: boolean, url: string, tag: number): number {
  switch (type) {
    case 1:
      return view.getUint8(i);
    case 6:
      return view.getInt8(i);
    case 3:
      return view.getUint16(i * 2, le);
    case 8:
      return view.getInt16(i * 2, le);
    case 4:
    case 13:
      return view.getUint32(i * 4, le);
    case 9:
      return view.getInt32(i * 4, le);
    case 11:
      return view.getFloat32(i * 4, le);
    case 12:
      return view.getFloat64(i * 8, le);
    case 5:
      return view.getUint32(i * 8, le) / view.getUint32(i * 8 + 4, le);
    case 10:
      return view.getInt32(i * 8, le) / view.getInt32(i * 8 + 4, le);
    case 16:
    case 18: {
      const v = view.getBigUint64(i * 8, le);
      if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new TiffError(url, `tag ${tag} holds ${v}, too large to address`);
      return Number(v);
    }
    case 17:
      return Number(view.getBigInt64(i * 8, le));
    default:
      throw new TiffError(url, `tag ${tag} has unknown field type ${type}`);
  }
}
