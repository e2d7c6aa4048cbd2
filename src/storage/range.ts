import { InvalidRangeError } from './errors.js';

/** Rejects ranges no object can have, before any I/O, with an error naming the URL and the values. */
export function assertValidRange(url: string, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new InvalidRangeError(url, offset, length);
  }
}

/** `bytes=a-b` for `length` (> 0) bytes at `offset`; HTTP ranges are inclusive at both ends. */
export function rangeHeader(offset: number, length: number): string {
  return `bytes=${offset}-${offset + length - 1}`;
}

/** A header as Node and undici hand it over. */
export type HeaderValue = string | string[] | undefined;

/** First value of a header that may repeat. */
export function headerValue(value: HeaderValue): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** A parsed `Content-Range: bytes start-end/total` (or `bytes *\/total` on a 416). */
export interface ContentRange {
  start: number | undefined;
  end: number | undefined;
  total: number | undefined;
}

export function parseContentRange(value: HeaderValue): ContentRange | undefined {
  const match = /^\s*bytes\s+(?:(\d+)-(\d+)|\*)\/(\d+|\*)\s*$/i.exec(headerValue(value) ?? '');
  if (match === null) return undefined;
  const num = (s: string | undefined): number | undefined => (s === undefined || s === '*' ? undefined : Number(s));
  return { start: num(match[1]), end: num(match[2]), total: num(match[3]) };
}
