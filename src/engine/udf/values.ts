import { endianness } from 'node:os';

import { DataboxError } from '../../errors.js';
import type { JsonValue } from '../store/types.js';

/**
 * The wire form of RS-UDF inputs and results. JSON carries them between machines, but JSON has no
 * typed arrays and no NaN or ±Infinity, and a raster UDF deals in both; so those travel as tagged
 * objects, and a user object that happens to look like a tag is escaped:
 *
 * - `{ "$number": "NaN" | "Infinity" | "-Infinity" | "-0" }`
 * - `{ "$typed": "Float32Array", "data": "<base64 of the view's little-endian bytes>" }` (also `ArrayBuffer`)
 * - `{ "$object": { ...the user's object, its keys taken literally } }` for an object with a key that starts with `$`
 *
 * Everything else is plain JSON. `undefined` becomes null, except as an object property, which is left
 * out as `JSON.stringify` does; symbol-keyed and non-enumerable properties are not carried; a Node
 * `Buffer` comes back as a plain `Uint8Array`. A value that appears twice is sent twice.
 */

/** The documented default limit on one encoded input or result: 1 MiB of UTF-8 JSON. */
export const MAX_VALUE_BYTES = 1024 * 1024;

export const UdfValueErrorCode = {
  /** The value (or a part of it) is not a structured value, or an encoded value is malformed. */
  value: 'ERR_UDF_VALUE',
  /** The encoded value is over its byte limit. */
  tooLarge: 'ERR_UDF_VALUE_TOO_LARGE',
} as const;

/** A value a UDF cannot take or return; `path` says where in it, e.g. `result.stats[3].when`. */
export class UdfValueError extends DataboxError {
  constructor(
    /** Where the bad part sits, rooted at the value's name. */
    readonly path: string,
    problem: string,
  ) {
    super(UdfValueErrorCode.value, `${path}: ${problem}`);
  }
}

export class UdfValueTooLargeError extends DataboxError {
  constructor(
    what: string,
    /** Size of the encoded value as UTF-8 JSON (a lower bound when the encoder stopped early). */
    readonly bytes: number,
    /** The limit it broke, in bytes. */
    readonly limitBytes: number,
    early: boolean,
  ) {
    super(
      UdfValueErrorCode.tooLarge,
      `The ${what} is ${early ? 'more than ' : ''}${formatBytes(bytes)} as JSON, over the ${formatBytes(limitBytes)} limit; ` +
        'write large outputs to storage (a file or an s3:// object) and return their URLs instead',
    );
  }
}

const STRUCTURED = 'is not a structured value (numbers, strings, booleans, null, arrays, plain objects, typed arrays)';

const TYPED = {
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
} as const;
type TypedKind = keyof typeof TYPED;
type AnyTyped = InstanceType<(typeof TYPED)[TypedKind]>;

const BIG_ENDIAN = endianness() === 'BE';

/**
 * Encodes `value` for the wire, checking that every part is a structured value and that the JSON it
 * makes is at most `maxBytes` (pass `Infinity` for no limit). `what` names the root in messages:
 * `input`, `result`.
 */
export function encodeValue(value: unknown, what: string, maxBytes: number = MAX_VALUE_BYTES): JsonValue {
  if (!(maxBytes === Infinity || (Number.isSafeInteger(maxBytes) && maxBytes > 0))) {
    throw new RangeError(`encodeValue: maxBytes must be a positive integer or Infinity (got ${String(maxBytes)})`);
  }
  const encoder = new Encoder(what, maxBytes);
  const json = encoder.encode(value);
  if (maxBytes !== Infinity) {
    const text = JSON.stringify(json);
    // A UTF-16 code unit is at most 3 UTF-8 bytes, so most values need no byte count.
    if (text.length * 3 > maxBytes) {
      const bytes = Buffer.byteLength(text, 'utf8');
      if (bytes > maxBytes) throw new UdfValueTooLargeError(what, bytes, maxBytes, false);
    }
  }
  return json;
}

class Encoder {
  /** Path segments from the root to the value being encoded. */
  private readonly segments: (string | number)[] = [];
  /** The objects and arrays enclosing the value being encoded, to catch cycles. */
  private readonly open = new Set<object>();
  private readonly openList: object[] = [];
  /** Bytes of base64 produced so far: typed arrays dominate big values, so they alone can stop early. */
  private base64Bytes = 0;

  constructor(
    private readonly what: string,
    private readonly maxBytes: number,
  ) {}

  encode(value: unknown): JsonValue {
    switch (typeof value) {
      case 'string':
      case 'boolean':
        return value;
      case 'undefined':
        return null;
      case 'number':
        if (Number.isFinite(value)) return value === 0 && Object.is(value, -0) ? { $number: '-0' } : value;
        return { $number: String(value) };
      case 'bigint':
        return this.fail(`the bigint ${value}n ${STRUCTURED}; use a number or a BigInt64Array`);
      case 'symbol':
        return this.fail(`a symbol (${String(value)}) ${STRUCTURED}`);
      case 'function':
        return this.fail(`a function${value.name ? ` (${value.name})` : ''} ${STRUCTURED}`);
    }
    if (value === null) return null;
    const object = value as object;
    if (ArrayBuffer.isView(object)) return this.typed(object);
    if (tagOf(object) === 'ArrayBuffer') return this.bytes('ArrayBuffer', new Uint8Array(object as ArrayBuffer));
    if (this.open.has(object)) {
      const at = this.openList.indexOf(object);
      return this.fail(`this refers back to ${this.pathOf(at)}, which contains it; a cycle is not a structured value`);
    }
    if (Array.isArray(object)) return this.within(object, () => this.array(object));
    if (!isPlainObject(object)) return this.fail(`${describeObject(object)} ${STRUCTURED}`);
    return this.within(object, () => this.object(object as Record<string, unknown>));
  }

  private array(array: unknown[]): JsonValue[] {
    const out = new Array<JsonValue>(array.length);
    for (let i = 0; i < array.length; i++) {
      this.segments.push(i);
      out[i] = this.encode(array[i]);
      this.segments.pop();
    }
    return out;
  }

  private object(object: Record<string, unknown>): JsonValue {
    const out: Record<string, JsonValue> = {};
    let escape = false;
    for (const key of Object.keys(object)) {
      const item = object[key];
      if (item === undefined) continue;
      if (key.charCodeAt(0) === 36 /* $ */) escape = true;
      this.segments.push(key);
      setKey(out, key, this.encode(item));
      this.segments.pop();
    }
    return escape ? { $object: out } : out;
  }

  private typed(view: ArrayBufferView): JsonValue {
    const kind = tagOf(view);
    if (!Object.hasOwn(TYPED, kind)) return this.fail(`${describeObject(view)} ${STRUCTURED}`);
    const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    const size = (view as AnyTyped).BYTES_PER_ELEMENT;
    return this.bytes(kind as TypedKind, BIG_ENDIAN && size > 1 ? swapped(bytes, size) : bytes);
  }

  private bytes(kind: TypedKind | 'ArrayBuffer', bytes: Uint8Array): JsonValue {
    this.base64Bytes += Math.ceil(bytes.byteLength / 3) * 4;
    if (this.base64Bytes > this.maxBytes) throw new UdfValueTooLargeError(this.what, this.base64Bytes, this.maxBytes, true);
    return { $typed: kind, data: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') };
  }

  private within<T>(object: object, encode: () => T): T {
    this.open.add(object);
    this.openList.push(object);
    try {
      return encode();
    } finally {
      this.open.delete(object);
      this.openList.pop();
    }
  }

  private fail(problem: string): never {
    throw new UdfValueError(this.pathOf(this.segments.length), problem);
  }

  /** The path of the first `depth` segments. */
  private pathOf(depth: number): string {
    return formatPath(this.what, this.segments.slice(0, depth));
  }
}

/** Decodes a value made by `encodeValue` (after its trip through JSON); `what` names the root in messages. */
export function decodeValue(json: JsonValue, what = 'value'): unknown {
  return decode(json, what, []);
}

function decode(json: JsonValue, what: string, segments: (string | number)[]): unknown {
  if (json === null || typeof json !== 'object') return json;
  if (Array.isArray(json)) {
    const out = new Array<unknown>(json.length);
    for (let i = 0; i < json.length; i++) {
      segments.push(i);
      out[i] = decode(json[i] as JsonValue, what, segments);
      segments.pop();
    }
    return out;
  }
  const keys = Object.keys(json);
  if (keys.some((key) => key.charCodeAt(0) === 36)) return decodeTagged(json, keys, what, segments);
  return decodeObject(json, keys, what, segments);
}

function decodeObject(json: { [key: string]: JsonValue }, keys: string[], what: string, segments: (string | number)[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of keys) {
    segments.push(key);
    setKey(out, key, decode(json[key] as JsonValue, what, segments));
    segments.pop();
  }
  return out;
}

function decodeTagged(json: { [key: string]: JsonValue }, keys: string[], what: string, segments: (string | number)[]): unknown {
  const malformed = (problem: string): never => {
    throw new UdfValueError(formatPath(what, segments), `malformed encoded value ${JSON.stringify(json).slice(0, 80)}: ${problem}`);
  };
  if (keys.length === 1 && keys[0] === '$number') {
    const number = SPECIAL_NUMBERS.get(json.$number as string);
    return number ?? malformed('$number must be "NaN", "Infinity", "-Infinity" or "-0"');
  }
  if (keys.length === 1 && keys[0] === '$object') {
    const inner = json.$object;
    if (inner === null || typeof inner !== 'object' || Array.isArray(inner)) return malformed('$object must hold an object');
    return decodeObject(inner, Object.keys(inner), what, segments);
  }
  if (keys.length === 2 && '$typed' in json && 'data' in json) {
    const { $typed: kind, data } = json;
    if (typeof data !== 'string' || !isBase64(data)) return malformed('data must be base64 text');
    const bytes = Buffer.from(data, 'base64');
    // A fresh buffer: Buffer.from may hand out a slice of a shared pool at any alignment.
    const buffer = new ArrayBuffer(bytes.byteLength);
    new Uint8Array(buffer).set(bytes);
    if (kind === 'ArrayBuffer') return buffer;
    if (typeof kind !== 'string' || !Object.hasOwn(TYPED, kind)) return malformed(`$typed must name a typed array or ArrayBuffer`);
    const Kind = TYPED[kind as TypedKind];
    if (buffer.byteLength % Kind.BYTES_PER_ELEMENT !== 0) return malformed(`${buffer.byteLength} bytes do not make whole ${kind} elements`);
    if (BIG_ENDIAN && Kind.BYTES_PER_ELEMENT > 1) new Uint8Array(buffer).set(swapped(new Uint8Array(buffer), Kind.BYTES_PER_ELEMENT));
    return new Kind(buffer);
  }
  return malformed('keys starting with "$" are reserved for tags ($number, $typed, $object)');
}

const SPECIAL_NUMBERS = new Map<string, number>([
  ['NaN', NaN],
  ['Infinity', Infinity],
  ['-Infinity', -Infinity],
  ['-0', -0],
]);
const NOT_BASE64 = /[^A-Za-z0-9+/=]/;
const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** Strict base64 with padding, checked without a backtracking pattern (data can be many megabytes). */
function isBase64(text: string): boolean {
  if (text.length % 4 !== 0 || NOT_BASE64.test(text)) return false;
  const pad = text.indexOf('=');
  return pad === -1 || (pad >= text.length - 2 && (pad === text.length - 1 || text[text.length - 1] === '='));
}

/** `result.stats[3].when`, with `["odd key"]` for keys that are not identifiers. */
function formatPath(root: string, segments: readonly (string | number)[]): string {
  let path = root;
  for (const s of segments) path += typeof s === 'number' ? `[${s}]` : IDENTIFIER.test(s) ? `.${s}` : `[${JSON.stringify(s)}]`;
  return path;
}

/** Sets an own property, so a key named `__proto__` stays data and never swaps the prototype. */
function setKey(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

function tagOf(object: object): string {
  return Object.prototype.toString.call(object).slice(8, -1);
}

/** True for `{}`, `Object.create(null)` and object literals from another realm (a vm context). */
function isPlainObject(object: object): boolean {
  const proto = Object.getPrototypeOf(object) as object | null;
  return proto === null || proto === Object.prototype || (Object.getPrototypeOf(proto) === null && tagOf(object) === 'Object');
}

function describeObject(object: object): string {
  const name = (Object.getPrototypeOf(object) as { constructor?: { name?: unknown } } | null)?.constructor?.name;
  const tag = tagOf(object);
  if (object instanceof Error) return `an error (${String(object)})`;
  if (typeof name !== 'string' || name === '') return `an object of kind ${tag}`;
  if (BUILT_INS.has(name) || tag === name) return `${/^[AEIOU]/.test(name) ? 'an' : 'a'} ${name}`;
  return `an instance of class ${name}`;
}

const BUILT_INS = new Set(['Date', 'Map', 'Set', 'WeakMap', 'WeakSet', 'RegExp', 'Promise', 'DataView', 'SharedArrayBuffer', 'URL', 'Number', 'String', 'Boolean']);

/** A copy of `bytes` with each `size`-byte element reversed (big-endian hosts only). */
function swapped(bytes: Uint8Array, size: number): Uint8Array {
  const copy = Buffer.from(bytes);
  if (size === 2) copy.swap16();
  else if (size === 4) copy.swap32();
  else copy.swap64();
  return copy;
}

/** `1.5 MiB (1572864 bytes)`, or `1.5 MiB` when not `exact`, for size messages. */
export function formatBytes(bytes: number, exact = true): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB'];
  let size = bytes;
  let unit = 0;
  while (size >= 1024 && unit < units.length - 1) {
    size /= 1024;
    unit++;
  }
  if (unit === 0) return `${bytes} bytes`;
  const rounded = `${Number(size.toFixed(1))} ${units[unit]}`;
  return exact ? `${rounded} (${bytes} bytes)` : rounded;
}
