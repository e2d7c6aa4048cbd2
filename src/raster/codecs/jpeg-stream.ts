import { CorruptBlockError } from './errors.js';

/**
 * Turns a TIFF JPEG block into the one self-contained stream libjpeg decodes, and reads its frame
 * header first so the caller can check the size before anything is decoded.
 *
 * TIFF blocks are "abbreviated" JPEG streams: the quantisation and Huffman tables usually live once in
 * the JPEGTables tag (itself a tables-only stream, SOI … EOI), so we splice the tables (without their
 * EOI) in front of the block (without its SOI), which is what libjpeg sees when libtiff feeds it both.
 *
 * libtiff also tells libjpeg how to read the colour (`jpeg_color_space`), whatever the stream's markers
 * say. Our decoder (mozjpeg in WebAssembly) offers no such setting, and libjpeg otherwise guesses from
 * JFIF / Adobe markers and component ids. So we rename every APP0 and APP14 segment ahead of the first
 * scan to APP15 (same length, skipped by libjpeg) and insert, right after SOI, the one marker that makes
 * the guess libtiff's choice: JFIF for YCbCr, Adobe with transform 0 for untransformed RGB.
 */

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
const APP0 = 0xe0;
const APP14 = 0xee;
const APP15 = 0xef;

/** APP0 "JFIF" 1.01, no density or thumbnail: libjpeg then reads three components as YCbCr. */
const JFIF = Uint8Array.of(0xff, APP0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0);
/** APP14 "Adobe" version 100, transform 0: libjpeg then reads three components as RGB, untouched. */
const ADOBE_RGB = Uint8Array.of(0xff, APP14, 0, 14, 0x41, 0x64, 0x6f, 0x62, 0x65, 0, 100, 0, 0, 0, 0, 0);

/** How libjpeg must read the components: converted from YCbCr to RGB, or passed through as they are. */
export type JpegColour = 'ycbcr' | 'as-is';

/** The frame header (SOFn) fields we check before decoding. */
export interface JpegFrame {
  /** The SOF marker's second byte: 0xc0 baseline, 0xc1 extended, 0xc2 progressive, … */
  marker: number;
  /** Bits per sample. */
  precision: number;
  /** Rows, as the frame declares them. */
  height: number;
  /** Columns, as the frame declares them. */
  width: number;
  /** Number of components. */
  components: number;
}

/** The stream to decode and its frame header. */
export interface JpegStream {
  /** SOI, colour marker, tables, block: a fresh copy, never the caller's bytes. */
  stream: Uint8Array;
  /** The first frame header ahead of the first scan. */
  frame: JpegFrame;
  /** How many scans (SOS markers) libjpeg would read, counted up to {@link JPEG_MAX_SCANS} only. */
  scans: number;
}

/**
 * libtiff stops a JPEG block at its 100th scan (LIBTIFF_JPEG_MAX_ALLOWED_SCAN_NUMBER), because libjpeg
 * reads every scan a stream holds and thousands of tiny progressive scans cost time, not bytes.
 */
export const JPEG_MAX_SCANS = 100;

/** Builds the stream for one block (see the file comment) and reads its frame header. */
export function assembleJpeg(data: Uint8Array, tables: Uint8Array | undefined, colour: JpegColour, where: string): JpegStream {
  if (data.length < 4 || data[0] !== 0xff || data[1] !== SOI) {
    throw new CorruptBlockError(where, 'JPEG block does not start with an SOI marker (FF D8)');
  }
  let head: Uint8Array = new Uint8Array(0);
  if (tables !== undefined && tables.length >= 4) {
    if (tables[0] !== 0xff || tables[1] !== SOI) {
      throw new CorruptBlockError(where, 'JPEGTables tag does not start with an SOI marker (FF D8)');
    }
    const end = tables[tables.length - 2] === 0xff && tables[tables.length - 1] === EOI ? tables.length - 2 : tables.length;
    head = tables.subarray(2, end);
  }
  const marker = colour === 'ycbcr' ? JFIF : ADOBE_RGB;
  const stream = new Uint8Array(2 + marker.length + head.length + data.length - 2);
  stream.set([0xff, SOI]);
  stream.set(marker, 2);
  stream.set(head, 2 + marker.length);
  stream.set(data.subarray(2), 2 + marker.length + head.length);
  const { frame, scanAt } = walkHeader(stream, 2 + marker.length, where);
  return { stream, frame, scans: countScans(stream, scanAt) };
}

/**
 * Walks the marker segments from `start` up to the first scan: renames APP0 and APP14 segments to
 * APP15 (in place) and returns the first frame header and where the walk stopped.
 */
function walkHeader(stream: Uint8Array, start: number, where: string): { frame: JpegFrame; scanAt: number } {
  let frame: JpegFrame | undefined;
  let p = start;
  while (p + 4 <= stream.length) {
    if (stream[p] !== 0xff) throw new CorruptBlockError(where, `JPEG stream has no marker at byte ${p}`);
    const marker = stream[p + 1]!;
    if (marker === 0xff) {
      p++; // fill byte
      continue;
    }
    if (marker === SOI || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      p += 2; // markers without a length
      continue;
    }
    if (marker === SOS || marker === EOI) break;
    if (marker === APP0 || marker === APP14) stream[p + 1] = APP15;
    const isFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isFrame && frame === undefined) {
      if (p + 10 > stream.length) break;
      frame = {
        marker,
        precision: stream[p + 4]!,
        height: (stream[p + 5]! << 8) | stream[p + 6]!,
        width: (stream[p + 7]! << 8) | stream[p + 8]!,
        components: stream[p + 9]!,
      };
    }
    p += 2 + ((stream[p + 2]! << 8) | stream[p + 3]!);
  }
  if (frame === undefined) throw new CorruptBlockError(where, 'JPEG stream has no frame header (SOF marker) before its scan');
  return { frame, scanAt: p };
}

/**
 * Counts SOS markers from `p` the way libjpeg meets them: segments are skipped by their length, and
 * between them (entropy-coded data) only an FF followed by neither 00 (stuffing) nor RSTn is a marker.
 */
function countScans(stream: Uint8Array, p: number): number {
  let scans = 0;
  while (p + 1 < stream.length && scans < JPEG_MAX_SCANS) {
    if (stream[p] !== 0xff) {
      p++;
      continue;
    }
    const marker = stream[p + 1]!;
    if (marker === 0xff) {
      p++; // fill byte
    } else if (marker === 0x00 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd8)) {
      p += 2; // stuffing, TEM, RSTn, SOI: no length
    } else if (marker === EOI || p + 4 > stream.length) {
      break;
    } else {
      if (marker === SOS) scans++;
      p += 2 + ((stream[p + 2]! << 8) | stream[p + 3]!);
    }
  }
  return scans;
}
