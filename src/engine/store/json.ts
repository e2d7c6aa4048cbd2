import { InvalidValueError, StoreCorruptError, ValueTooLargeError } from './errors.js';
import type { JsonValue } from './types.js';

/**
 * Encodes a value for storage as JSON text, checking its UTF-8 size against `limitBytes`. `undefined`
 * is stored as null; otherwise `JSON.stringify` decides (NaN becomes null, a BigInt or a cycle is an
 * error). `what` is only called to build an error message, so the hot path builds no strings.
 */
export function encodeJson(value: unknown, limitBytes: number, what: () => string, option: string): string {
  if (value === undefined || value === null) return 'null';
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    throw new InvalidValueError(what(), err instanceof Error ? err.message : String(err));
  }
  if (text === undefined) throw new InvalidValueError(what(), `a ${typeof value} is not JSON`);
  // A UTF-16 code unit is at most 3 UTF-8 bytes, so short strings need no byte count.
  if (text.length * 3 > limitBytes) {
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > limitBytes) throw new ValueTooLargeError(what(), bytes, limitBytes, option);
  }
  return text;
}

/** Decodes JSON text read back from the database; anything else is a corrupt row. */
export function decodeJson(text: unknown, table: string, rowId: string | number, column: string): JsonValue {
  if (typeof text !== 'string') throw new StoreCorruptError(table, rowId, column, `should be JSON text, not ${describe(text)}`);
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    throw new StoreCorruptError(table, rowId, column, `is not valid JSON: ${JSON.stringify(text.slice(0, 40))}`);
  }
}

/** A short description of an unexpected database value, for corruption messages. */
export function describe(value: unknown): string {
  if (value === null) return 'NULL';
  if (typeof value === 'string') return `the text ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'number' || typeof value === 'bigint') return `the number ${value}`;
  if (value instanceof Uint8Array) return `a ${value.length}-byte blob`;
  return typeof value;
}
