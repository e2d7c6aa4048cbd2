import { describe, expect, it } from 'vitest';

import type { JsonValue } from '../../../src/engine/store/types.js';
import { decodeValue, encodeValue, MAX_VALUE_BYTES, UdfValueError, UdfValueTooLargeError } from '../../../src/engine/udf/values.js';
import { prng } from '../../helpers/prng.js';

/** Through the encoder, JSON text, and back: what a worker's result goes through. */
const trip = (value: unknown, maxBytes = Infinity): unknown => decodeValue(JSON.parse(JSON.stringify(encodeValue(value, 'result', maxBytes))) as JsonValue, 'result');

const KINDS = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array] as const;

/** Deep equality with Object.is for numbers (NaN equals NaN, -0 differs from 0) and exact prototypes. */
function same(a: unknown, b: unknown): boolean {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return Object.is(a, b);
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (a instanceof ArrayBuffer) return same(new Uint8Array(a), new Uint8Array(b as ArrayBuffer));
  if (ArrayBuffer.isView(a)) {
    const x = a as unknown as ArrayLike<unknown>;
    const y = b as unknown as ArrayLike<unknown>;
    return x.length === y.length && Array.from(x).every((v, i) => Object.is(v, y[i]));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/** A random structured value: every kind the wire carries, nested, with `$` keys and special numbers. */
function randomValue(rand: () => number, depth = 0): unknown {
  const pick = Math.floor(rand() * (depth > 3 ? 6 : 10));
  switch (pick) {
    case 0:
      return null;
    case 1:
      return rand() < 0.5;
    case 2:
      return [NaN, Infinity, -Infinity, -0, 0, Number.MAX_VALUE, Number.MIN_VALUE, -1.5, 2 ** 53][Math.floor(rand() * 9)];
    case 3:
      return (rand() - 0.5) * 10 ** Math.floor(rand() * 20);
    case 4:
      return randomString(rand);
    case 5:
      return randomTyped(rand);
    case 6:
      return Array.from({ length: Math.floor(rand() * 5) }, () => randomValue(rand, depth + 1));
    case 7: {
      const object: Record<string, unknown> = {};
      // defineProperty, so a `__proto__` key is data, as JSON.parse makes it.
      for (let i = Math.floor(rand() * 5); i > 0; i--) Object.defineProperty(object, randomKey(rand), { value: randomValue(rand, depth + 1), enumerable: true, writable: true, configurable: true });
      return object;
    }
    case 8:
      // Objects that look like the encoder's own tags must come back as they were.
      return [{ $number: 'NaN' }, { $typed: 'Float32Array', data: 'AAAAAA==' }, { $object: { a: 1 } }, { $: null, b: [1] }][Math.floor(rand() * 4)];
    default: {
      const bytes = new Uint8Array(Math.floor(rand() * 9)).map(() => Math.floor(rand() * 256));
      return bytes.buffer;
    }
  }
}

function randomString(rand: () => number): string {
  const alphabet = ['a', 'Z', ' ', '"', '\\', '\n', 'é', '€', '😀', '$', '\u0000', '\ud800'];
  return Array.from({ length: Math.floor(rand() * 8) }, () => alphabet[Math.floor(rand() * alphabet.length)]).join('');
}

function randomKey(rand: () => number): string {
  return ['a', 'b', '$x', '$', '$typed', 'data', 'with space', '', '__proto__', '0', 'constructor'][Math.floor(rand() * 11)]!;
}

function randomTyped(rand: () => number): unknown {
  const Kind = KINDS[Math.floor(rand() * KINDS.length)]!;
  const length = Math.floor(rand() * 7);
  // A view into the middle of a bigger buffer: only the view's bytes may travel.
  const offset = Math.floor(rand() * 3) * 8;
  const buffer = new ArrayBuffer(offset + length * Kind.BYTES_PER_ELEMENT + 16);
  new Uint8Array(buffer).forEach((_, i, all) => (all[i] = Math.floor(rand() * 256)));
  return new Kind(buffer, offset, length);
}

describe('encoding UDF values', () => {
  it('brings back a thousand random structured values exactly', () => {
    const rand = prng(20240607);
    for (let i = 0; i < 1000; i++) {
      const value = randomValue(rand);
      const back = trip(value);
      if (!same(back, value)) throw new Error(`case ${i} did not round-trip: ${JSON.stringify(encodeValue(value, 'value', Infinity))}`);
    }
  });

  it('brings back every typed-array kind with its extreme values, little-endian on the wire', () => {
    const values: Record<string, unknown> = {
      i8: new Int8Array([-128, 127, 0]),
      u8c: new Uint8ClampedArray([0, 255]),
      i16: new Int16Array([-32768, 32767]),
      u16: new Uint16Array([65535]),
      i32: new Int32Array([-(2 ** 31), 2 ** 31 - 1]),
      u32: new Uint32Array([2 ** 32 - 1]),
      f32: new Float32Array([NaN, -0, Infinity, 3.4e38]),
      f64: new Float64Array([NaN, -0, -Infinity, Number.MIN_VALUE]),
      i64: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]),
      u64: new BigUint64Array([2n ** 64n - 1n]),
      buffer: new Uint8Array([1, 2, 3]).buffer,
    };
    const back = trip(values) as Record<string, unknown>;
    for (const [key, value] of Object.entries(values)) expect(same(back[key], value), key).toBe(true);
    expect(encodeValue(new Uint16Array([0x0102]), 'result')).toEqual({ $typed: 'Uint16Array', data: Buffer.from([0x02, 0x01]).toString('base64') });
  });

  it('sends only the bytes of a view, not the buffer behind it', () => {
    const big = new Float64Array(1000).fill(7);
    const view = big.subarray(10, 12);
    const encoded = encodeValue(view, 'result') as { data: string };
    expect(Buffer.from(encoded.data, 'base64').length).toBe(16);
    expect(trip(view)).toEqual(new Float64Array([7, 7]));
  });

  it('carries NaN, the infinities and -0, which JSON cannot', () => {
    expect(encodeValue([NaN, Infinity, -Infinity, -0, 0], 'result')).toEqual([{ $number: 'NaN' }, { $number: 'Infinity' }, { $number: '-Infinity' }, { $number: '-0' }, 0]);
    expect(Object.is(trip(-0), -0)).toBe(true);
  });

  it('escapes user objects with $ keys, so they never read as tags', () => {
    const value = { $number: 'NaN', nested: { $typed: 'Uint8Array', data: '' } };
    expect(encodeValue(value, 'result')).toEqual({ $object: { $number: 'NaN', nested: { $object: { $typed: 'Uint8Array', data: '' } } } });
    expect(trip(value)).toEqual(value);
  });

  it('keeps a __proto__ key as data', () => {
    const value = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as Record<string, unknown>;
    const back = trip(value) as Record<string, unknown>;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Object.keys(back)).toEqual(['__proto__', 'a']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('turns undefined into null, and leaves out undefined properties as JSON does', () => {
    expect(encodeValue(undefined, 'result')).toBeNull();
    expect(encodeValue([undefined, 1], 'result')).toEqual([null, 1]);
    expect(encodeValue({ a: undefined, b: 2 }, 'result')).toEqual({ b: 2 });
  });

  it('takes objects without a prototype and sends a shared object twice', () => {
    const bare = Object.assign(Object.create(null) as object, { a: 1 });
    const shared = { n: 1 };
    expect(trip({ bare, pair: [shared, shared] })).toEqual({ bare: { a: 1 }, pair: [{ n: 1 }, { n: 1 }] });
  });
});

describe('values a UDF cannot take or return', () => {
  const refusal = (value: unknown): UdfValueError => {
    try {
      encodeValue(value, 'result');
    } catch (err) {
      if (err instanceof UdfValueError) return err;
      throw err;
    }
    throw new Error('encodeValue accepted the value');
  };

  it('names the path of a Date deep inside', () => {
    const err = refusal({ stats: [0, 1, 2, { when: new Date(0) }] });
    expect(err.code).toBe('ERR_UDF_VALUE');
    expect(err.path).toBe('result.stats[3].when');
    expect(err.message).toBe('result.stats[3].when: a Date is not a structured value (numbers, strings, booleans, null, arrays, plain objects, typed arrays)');
  });

  it('names functions, maps, sets, class instances, bigints, symbols, errors and data views', () => {
    class Tile {
      x = 1;
    }
    expect(refusal({ f: function area() {} }).message).toMatch(/^result\.f: a function \(area\) is not a structured value/);
    expect(refusal([new Map()]).message).toMatch(/^result\[0\]: a Map is not/);
    expect(refusal({ 'odd key': new Set() }).message).toMatch(/^result\["odd key"\]: a Set is not/);
    expect(refusal({ tile: new Tile() }).message).toMatch(/^result\.tile: an instance of class Tile is not/);
    expect(refusal(12n).message).toMatch(/^result: the bigint 12n is not .*BigInt64Array/);
    expect(refusal({ s: Symbol('x') }).message).toMatch(/^result\.s: a symbol \(Symbol\(x\)\) is not/);
    expect(refusal({ e: new TypeError('boom') }).message).toMatch(/^result\.e: an error \(TypeError: boom\) is not/);
    expect(refusal(new DataView(new ArrayBuffer(4))).message).toMatch(/^result: a DataView is not/);
  });

  it('names a cycle and where it closes', () => {
    const a: Record<string, unknown> = { list: [] };
    (a.list as unknown[]).push({ back: a });
    expect(refusal(a).message).toBe('result.list[0].back: this refers back to result, which contains it; a cycle is not a structured value');
  });

  it('uses the name it is given for the root', () => {
    expect(() => encodeValue({ f: () => 1 }, 'input')).toThrow(/^input\.f: a function \(f\)/);
  });

  it('refuses a value over the limit, naming its size and the limit, and points to storage', () => {
    const big = 'x'.repeat(MAX_VALUE_BYTES);
    let err: unknown;
    try {
      encodeValue({ big }, 'result');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UdfValueTooLargeError);
    expect((err as UdfValueTooLargeError).code).toBe('ERR_UDF_VALUE_TOO_LARGE');
    expect((err as UdfValueTooLargeError).bytes).toBe(MAX_VALUE_BYTES + 10);
    expect((err as Error).message).toBe(
      'The result is 1 MiB (1048586 bytes) as JSON, over the 1 MiB (1048576 bytes) limit; write large outputs to storage (a file or an s3:// object) and return their URLs instead',
    );
    expect(() => encodeValue('é'.repeat(60), 'result', 100)).toThrow(/120 bytes as JSON|122 bytes as JSON/);
    expect(encodeValue('x'.repeat(98), 'result', 100)).toHaveLength(98);
  });

  it('stops early on a typed array that alone is over the limit', () => {
    const huge = new Float64Array(4 * 1024 * 1024);
    expect(() => encodeValue({ pixels: huge }, 'result')).toThrow(/^The result is more than 42\.7 MiB \(44739244 bytes\) as JSON, over the 1 MiB/);
    expect(() => encodeValue(huge, 'result', Infinity)).not.toThrow();
  });

  it('refuses a bad limit, naming it', () => {
    expect(() => encodeValue(1, 'result', 0)).toThrow('encodeValue: maxBytes must be a positive integer or Infinity (got 0)');
  });
});

describe('decoding UDF values', () => {
  it('refuses malformed tags, naming the path', () => {
    expect(() => decodeValue({ a: [{ $number: 'seven' }] }, 'input')).toThrow(/^input\.a\[0\]: malformed encoded value .*\$number must be/);
    expect(() => decodeValue({ $typed: 'Float32Array', data: 'AAA' })).toThrow(/data must be base64/);
    expect(() => decodeValue({ $typed: 'Float32Array', data: 'AAAA' })).toThrow(/3 bytes do not make whole Float32Array elements/);
    expect(() => decodeValue({ $typed: 'Array', data: '' })).toThrow(/\$typed must name a typed array/);
    expect(() => decodeValue({ $object: [1] })).toThrow(/\$object must hold an object/);
    expect(() => decodeValue({ $other: 1 })).toThrow(/reserved for tags/);
    expect(() => decodeValue({ $typed: 'Uint8Array', data: 'AA==', extra: 1 })).toThrow(/reserved for tags/);
  });

  it('passes plain JSON through unchanged', () => {
    const json = { a: [1, 'two', null, true, { b: [] }] };
    expect(decodeValue(json)).toEqual(json);
  });
});
