/**
 * How each zones format announces itself in its first bytes. Apart from the readers, so telling a format
 * loads none of the libraries that read it (flatgeobuf, better-sqlite3 with wkx, shapefile).
 */

/** FlatGeobuf's magic: `fgb` and major version 3. */
export function isFlatGeobuf(head: Uint8Array): boolean {
  return head[0] === 0x66 && head[1] === 0x67 && head[2] === 0x62 && head[3] === 0x03;
}

const SQLITE_MAGIC = 'SQLite format 3\0';

/** An SQLite database, as every GeoPackage is. */
export function isSqlite(head: Uint8Array): boolean {
  return head.length >= 16 && new TextDecoder('latin1').decode(head.subarray(0, 16)) === SQLITE_MAGIC;
}

/** A shapefile's main file: file code 9994, big-endian. */
export function isShapefile(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0 && head[1] === 0 && head[2] === 0x27 && head[3] === 0x0a;
}
