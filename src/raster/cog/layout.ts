import { CogWriteError } from './errors.js';

/**
 * Where everything goes in a COG, as GDAL lays it out: the header, GDAL's structural-metadata "ghost"
 * area, every IFD (full resolution first) with its tile index, then the tile data from the smallest
 * overview to full resolution, each tile row-major between a 4-byte size leader and a trailer repeating
 * its last 4 bytes. Plain data, no I/O.
 */

const GHOST_BODY =
  'LAYOUT=IFDS_BEFORE_DATA\nBLOCK_ORDER=ROW_MAJOR\nBLOCK_LEADER=SIZE_AS_UINT4\n' +
  'BLOCK_TRAILER=LAST_4_BYTES_REPEATED\nKNOWN_INCOMPATIBLE_EDITION=NO\n ';

/** GDAL's structural metadata, right after the header; readers use it to trust the layout. */
export const GHOST = `GDAL_STRUCTURAL_METADATA_SIZE=${String(GHOST_BODY.length).padStart(6, '0')} bytes\n${GHOST_BODY}`;

/** The largest file classic TIFF's 32-bit offsets can address. */
export const CLASSIC_LIMIT = 2 ** 32 - 1;

export interface FilePlan {
  bigTiff: boolean;
  headerSize: number;
  /** Byte offset of each level's IFD. */
  ifdAt: number[];
  /** Byte offset of every tile of every level (past its leader). */
  tileOffsets: Float64Array[];
  /** Size of the whole file. */
  fileSize: number;
}

/**
 * Places IFDs and tiles. `ifdSize(level, bigTiff)` is the byte size of a level's IFD with its values.
 * With `bigtiff` 'auto', BigTIFF is chosen only when classic TIFF cannot address the file: the sizes of
 * all tiles are known by now, so this is exact rather than the estimate a writer must make up front.
 */
export function planCogFile(
  levels: readonly { byteCount: Float64Array }[],
  ifdSize: (level: number, bigTiff: boolean) => number,
  bigtiff: boolean | 'auto',
  url: string,
): FilePlan {
  if (bigtiff === true) return place(levels, ifdSize, true);
  const classic = place(levels, ifdSize, false);
  if (classic.fileSize <= CLASSIC_LIMIT) return classic;
  if (bigtiff === false) {
    throw new CogWriteError(`${url} would be ${classic.fileSize} bytes, past classic TIFF's 4 GiB; allow BigTIFF`);
  }
  return place(levels, ifdSize, true);
}

function place(
  levels: readonly { byteCount: Float64Array }[],
  ifdSize: (level: number, bigTiff: boolean) => number,
  bigTiff: boolean,
): FilePlan {
  const headerSize = bigTiff ? 16 : 8;
  let at = headerSize + GHOST.length;
  at += at % 2;
  const ifdAt: number[] = [];
  levels.forEach((_, li) => {
    const size = ifdSize(li, bigTiff);
    ifdAt.push(at);
    at += size + (size % 2);
  });
  const tileOffsets = levels.map((l) => new Float64Array(l.byteCount.length));
  for (let li = levels.length - 1; li >= 0; li--) {
    const counts = levels[li]!.byteCount;
    for (let t = 0; t < counts.length; t++) {
      tileOffsets[li]![t] = at + 4;
      at += counts[t]! + 8;
    }
  }
  return { bigTiff, headerSize, ifdAt, tileOffsets, fileSize: at };
}
