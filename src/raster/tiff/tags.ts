/** TIFF, GeoTIFF and GDAL tag numbers and field types used by the reader and the writer. */

export const Tag = {
  NewSubfileType: 254,
  ImageWidth: 256,
  ImageLength: 257,
  BitsPerSample: 258,
  Compression: 259,
  Photometric: 262,
  StripOffsets: 273,
  SamplesPerPixel: 277,
  RowsPerStrip: 278,
  StripByteCounts: 279,
  PlanarConfiguration: 284,
  Predictor: 317,
  TileWidth: 322,
  TileLength: 323,
  TileOffsets: 324,
  TileByteCounts: 325,
  ExtraSamples: 338,
  SampleFormat: 339,
  JPEGTables: 347,
  YCbCrSubSampling: 530,
  ModelPixelScale: 33550,
  ModelTiepoint: 33922,
  ModelTransformation: 34264,
  GeoKeyDirectory: 34735,
  GeoDoubleParams: 34736,
  GeoAsciiParams: 34737,
  GdalMetadata: 42112,
  GdalNodata: 42113,
  LercParameters: 50674,
} as const;

/** TIFF field types: their numbers and byte sizes. */
export const FieldType = {
  BYTE: 1,
  ASCII: 2,
  SHORT: 3,
  LONG: 4,
  RATIONAL: 5,
  SBYTE: 6,
  UNDEFINED: 7,
  SSHORT: 8,
  SLONG: 9,
  SRATIONAL: 10,
  FLOAT: 11,
  DOUBLE: 12,
  IFD: 13,
  LONG8: 16,
  SLONG8: 17,
  IFD8: 18,
} as const;

/** Bytes per value of each field type; undefined for types TIFF does not define. */
export function fieldTypeSize(type: number): number | undefined {
  switch (type) {
    case 1:
    case 2:
    case 6:
    case 7:
      return 1;
    case 3:
    case 8:
      return 2;
    case 4:
    case 9:
    case 11:
    case 13:
      return 4;
    case 5:
    case 10:
    case 12:
    case 16:
    case 17:
    case 18:
      return 8;
    default:
      return undefined;
  }
}

/** TIFF Compression tag values. */
export const Compression = {
  None: 1,
  Lzw: 5,
  OldJpeg: 6,
  Jpeg: 7,
  Deflate: 8,
  AdobeDeflate: 32946,
  PackBits: 32773,
  Lerc: 34887,
  Zstd: 50000,
} as const;

/** The name GDAL reports for a compression (as in `gdalinfo`'s COMPRESSION item). */
export function compressionName(compression: number, photometric: number): string {
  switch (compression) {
    case Compression.None:
      return 'NONE';
    case Compression.Lzw:
      return 'LZW';
    case Compression.OldJpeg:
    case Compression.Jpeg:
      return photometric === 6 ? 'YCbCr JPEG' : 'JPEG';
    case Compression.Deflate:
    case Compression.AdobeDeflate:
      return 'DEFLATE';
    case Compression.PackBits:
      return 'PACKBITS';
    case Compression.Lerc:
      return 'LERC';
    case Compression.Zstd:
      return 'ZSTD';
    default:
      return `UNKNOWN(${compression})`;
  }
}
