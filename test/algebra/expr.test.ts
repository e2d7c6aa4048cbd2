import { readdirSync, readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { evaluateExpr, ExprError, formatExpr, parseExpr, type BandInput } from '../../src/algebra/expr/index.js';
import { computeNdvi, emptyNdviStats } from '../../src/algebra/ndvi.js';
import { DataboxError } from '../../src/errors.js';
import { prng } from '../helpers/prng.js';

type Bands = Record<string, BandInput>;

/** The value of an expression over one pixel of the given band values (nodata none). */
function valueAt(source: string, values: Record<string, number> = {}): number {
  const bands: Bands = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, { values: [v], nodata: null }]));
  return evaluateExpr(parseExpr(source), bands, 1)[0]!;
}

/** Evaluates over a band `x` (float64, no nodata) and returns a plain array. */
function overX(source: string, x: number[]): number[] {
  return [...evaluateExpr(parseExpr(source), { x: { values: Float64Array.from(x), nodata: null } }, x.length)];
}

function errorOf(source: string, bands?: readonly string[]): ExprError {
  try {
    parseExpr(source, bands === undefined ? {} : { bands });
  } catch (err) {
    if (err instanceof ExprError) return err;
    throw err;
  }
  throw new Error(`"${source}" parsed without an error`);
}

describe('precedence and associativity', () => {
  it.each([
    ['a + b * c', '(a + (b * c))'],
    ['a - b - c', '((a - b) - c)'],
    ['a / b / c', '((a / b) / c)'],
    ['a * b / c * d', '(((a * b) / c) * d)'],
    ['-2^2', '(-(2 ^ 2))'],
    ['2^-1', '(2 ^ (-1))'],
    ['2^3^2', '(2 ^ (3 ^ 2))'],
    ['a ^ -b ^ c', '(a ^ (-(b ^ c)))'],
    ['- -a * +b', '((-(-a)) * (+b))'],
    ['a < b + 1', '(a < (b + 1))'],
    ['not a < b', '(not (a < b))'],
    ['not not a and b', '((not (not a)) and b)'],
    ['a or b and c', '(a or (b and c))'],
    ['a and b or c and d', '((a and b) or (c and d))'],
    ['a or b or c', '((a or b) or c)'],
    ['(a < b) < c', '((a < b) < c)'],
    ['(nir - red) / (nir + red)', '((nir - red) / (nir + red))'],
    ['12 + 0.5 + .5 + 1e-3 + 2.5E+4', '((((12 + 0.5) + 0.5) + 0.001) + 25000)'],
    ['min(a, b + 1, -c)', 'min(a, (b + 1), (-c))'],
    ['where(a>=0,a,-a)', 'where((a >= 0), a, (-a))'],
  ])('%s groups as %s', (source, canonical) => {
    expect(formatExpr(parseExpr(source))).toBe(canonical);
  });

  it.each([
    ['-2^2', -4],
    ['2^-1', 0.5],
    ['2^3^2', 512],
    ['(-2)^2', 4],
    ['10 - 4 - 3', 3],
    ['8 / 4 / 2', 1],
    ['2 + 3 * 4', 14],
    ['1 + 2 < 4', 1],
    ['1 or 0 and 0', 1],
    ['(1 or 0) and 0', 0],
    ['not 0 and 1', 1],
    ['not 1 == 0', 1],
  ])('%s is %d', (source, value) => {
    expect(valueAt(source)).toBe(value);
  });

  it('lists the bands in order of first use, names being case-sensitive', () => {
    expect(parseExpr('B4 * b4 + B4 - nir_2').bands).toEqual(['B4', 'b4', 'nir_2']);
  });

  it('treats a function name as a band name unless a "(" follows it', () => {
    expect(parseExpr('min + where * max(min, 1)').bands).toEqual(['min', 'where']);
    expect(valueAt('min + max(min, 1)', { min: 3 })).toBe(6);
  });
});

describe('functions', () => {
  it('abs, sqrt, log, log10 and exp apply pixel by pixel, with IEEE NaN where undefined', () => {
    expect(overX('abs(x)', [-2, 3])).toEqual([2, 3]);
    expect(overX('sqrt(x)', [9, 2])).toEqual([3, Math.SQRT2]);
    expect(overX('log(x)', [1, Math.E, -1])).toEqual([0, 1, Number.NaN]);
    expect(overX('log10(x)', [1000, 0.01])).toEqual([3, -2]);
    expect(overX('exp(x)', [0, 1])).toEqual([1, Math.E]);
  });

  it('min and max take two or more arguments, and give NaN when one is NaN', () => {
    expect(overX('min(x, 3, 2 * x)', [1, 5, -4])).toEqual([1, 3, -8]);
    expect(overX('max(x, 3, 2 * x)', [1, 5, -4])).toEqual([3, 10, 3]);
    // NaN never equals itself, so the comparison tells a NaN minimum from a number.
    expect(overX('where(min(x, sqrt(0 - 1)) == min(x, sqrt(0 - 1)), 1, 2)', [1])).toEqual([2]);
    expect(overX('where(max(sqrt(0 - 1), x) == max(sqrt(0 - 1), x), 1, 2)', [1])).toEqual([2]);
  });

  it('clamp holds a value between lo and hi', () => {
    expect(overX('clamp(x, 0, 10)', [-5, 5, 15])).toEqual([0, 5, 10]);
  });

  it('where picks its second argument where the condition is true and its third elsewhere', () => {
    expect(overX('where(x > 1, x * 10, x - 1)', [0, 1, 2, 3])).toEqual([-1, 0, 20, 30]);
  });

  it('where evaluates both branches everywhere, so a division by zero in the other branch is harmless', () => {
    const b = { values: Float64Array.from([2, 0, -4]), nodata: null };
    const a = { values: Float64Array.from([6, 6, 6]), nodata: null };
    expect([...evaluateExpr(parseExpr('where(b != 0, a / b, 0)'), { a, b }, 3)]).toEqual([3, 0, -1.5]);
  });
});

describe('booleans', () => {
  it('comparisons give 1 or 0', () => {
    const x = [1, 2, 3];
    expect(overX('x < 2', x)).toEqual([1, 0, 0]);
    expect(overX('x <= 2', x)).toEqual([1, 1, 0]);
    expect(overX('x > 2', x)).toEqual([0, 0, 1]);
    expect(overX('x >= 2', x)).toEqual([0, 1, 1]);
    expect(overX('x == 2', x)).toEqual([0, 1, 0]);
    expect(overX('x != 2', x)).toEqual([1, 0, 1]);
  });

  it('and, or, not and where treat any non-zero number as true, and zero and NaN as false', () => {
    const x = [0, 2, -1, 0.5, -1e-300];
    expect(overX('not x', x)).toEqual([1, 0, 0, 0, 0]);
    expect(overX('x and 7', x)).toEqual([0, 1, 1, 1, 1]);
    expect(overX('x or 0', x)).toEqual([0, 1, 1, 1, 1]);
    // sqrt(-1) is NaN: false everywhere it is tested.
    expect(overX('not sqrt(0 - x)', [1])).toEqual([1]);
    expect(overX('sqrt(0 - x) or 0', [1])).toEqual([0]);
    expect(overX('sqrt(0 - x) and 1', [1])).toEqual([0]);
    expect(overX('where(sqrt(0 - x), 1, 2)', [1])).toEqual([2]);
  });
});

describe('nodata', () => {
  it('a pixel is nodata (NaN) where a band it uses holds its nodata value or NaN', () => {
    const a = { values: Float32Array.from([1, -9999, Number.NaN, 4]), nodata: -9999 };
    const b = { values: Uint8Array.from([1, 1, 1, 0]), nodata: 0 };
    expect([...evaluateExpr(parseExpr('a + b'), { a, b }, 4)]).toEqual([2, Number.NaN, Number.NaN, Number.NaN]);
  });

  it('a band’s nodata propagates even through the branch of where() not taken', () => {
    const a = { values: Int16Array.from([5, 5, -5]), nodata: null };
    const b = { values: Int16Array.from([1, -1, 1]), nodata: -1 };
    expect([...evaluateExpr(parseExpr('where(a > 0, a, b)'), { a, b }, 3)]).toEqual([5, Number.NaN, 1]);
  });

  it('a result of NaN or ±Infinity is nodata, and an integer band without nodata has no missing pixels', () => {
    const a = { values: Uint16Array.from([0, 1, 0, 3]), nodata: null };
    const b = { values: Uint16Array.from([0, 0, 2, 1]), nodata: null };
    expect([...evaluateExpr(parseExpr('a / b'), { a, b }, 4)]).toEqual([Number.NaN, Number.NaN, 0, 3]);
  });

  it('an expression without bands is one value everywhere, NaN when not finite', () => {
    expect([...evaluateExpr(parseExpr('2 ^ 10'), {}, 3)]).toEqual([1024, 1024, 1024]);
    expect([...evaluateExpr(parseExpr('1 / 0'), {}, 2)]).toEqual([Number.NaN, Number.NaN]);
  });
});

describe('evaluateExpr inputs', () => {
  it('reads every typed array kind and plain arrays, from a Map or a record, across chunk edges', () => {
    const n = 10_007; // not a multiple of the chunk size
    const src = Array.from({ length: n }, (_, i) => i % 120);
    const want = src.map((v) => (v === 7 ? Number.NaN : v * 2 + 1));
    const kinds: ((xs: number[]) => ArrayLike<number>)[] = [
      (xs) => Uint8Array.from(xs), (xs) => Uint8ClampedArray.from(xs), (xs) => Int8Array.from(xs), (xs) => Uint16Array.from(xs),
      (xs) => Int16Array.from(xs), (xs) => Uint32Array.from(xs), (xs) => Int32Array.from(xs), (xs) => Float32Array.from(xs),
      (xs) => Float64Array.from(xs), (xs) => [...xs],
    ];
    for (const make of kinds) {
      const band = { values: make(src), nodata: 7 };
      const kind = band.values.constructor.name;
      expect([...evaluateExpr(parseExpr('v * 2 + 1'), { v: band }, n)], kind).toEqual(want);
      expect([...evaluateExpr(parseExpr('v * 2 + 1'), new Map([['v', band]]), n)], kind).toEqual(want);
    }
  });

  it('writes into the given out array and returns it', () => {
    const out = new Float64Array(4).fill(-1);
    const result = evaluateExpr(parseExpr('x + 1'), { x: { values: [1, 2, 3], nodata: null } }, 3, out);
    expect(result).toBe(out);
    expect([...out]).toEqual([2, 3, 4, -1]);
  });

  it('names a band the expression uses that is missing, or too short, and an out array too short', () => {
    const e = parseExpr('red + nir');
    expect(() => evaluateExpr(e, { red: { values: [1], nodata: null } }, 1)).toThrow(
      'No values for band "nir" at column 7 (given: red)\n  red + nir\n        ^',
    );
    // A record's inherited properties are not bands.
    expect(() => evaluateExpr(parseExpr('toString'), {}, 1)).toThrow(/No values for band "toString" at column 1 \(none were given\)/);
    expect(() => evaluateExpr(e, { red: { values: [1], nodata: null }, nir: { values: [1], nodata: null } }, 2)).toThrow(
      /Band "red" at column 1 has 1 values but 2 pixels were asked for/,
    );
    expect(() => evaluateExpr(parseExpr('1'), {}, 3, new Float64Array(2))).toThrow(/out has 2 values but length is 3/);
  });
});

describe('errors', () => {
  it('points at the column with a caret under the expression', () => {
    const err = errorOf('(nir - red) / (nir + red');
    expect(err).toBeInstanceOf(DataboxError);
    expect(err.code).toBe('ERR_EXPR');
    expect(err.column).toBe(25);
    expect(err.message).toBe('Expected ")" at column 25 but the expression ended\n  (nir - red) / (nir + red\n                          ^');
  });

  it.each([
    ['1.2.3 + a', 'Malformed number "1.2.3" at column 1: numbers look like 12, 0.5, .5, 1e-3\n  1.2.3 + a\n  ^'],
    ['a % b', 'Unexpected character "%" at column 3: there is no "%" operator\n  a % b\n    ^'],
    ['0 < x < 1', 'Comparisons cannot be chained at column 7: write "0 < x and x < 1"\n  0 < x < 1\n        ^'],
    ['foo(a)', 'Unknown function "foo" at column 1: the functions are abs, clamp, exp, log, log10, max, min, sqrt, where\n  foo(a)\n  ^'],
    ['1 + clamp(a, 1)', 'Wrong number of arguments at column 5: clamp(x, lo, hi) takes 3 arguments but was given 2\n  1 + clamp(a, 1)\n      ^'],
    ['a b', 'Unexpected "b" at column 3 after a complete expression\n  a b\n    ^'],
  ])('%s gives an exact message', (source, message) => {
    expect(errorOf(source).message).toBe(message);
  });

  it.each([
    ['a = b', 3, /^Unexpected character "=" at column 3: compare with "=="/],
    ['a && b', 3, /^Unexpected character "&" at column 3: write "and"/],
    ['a × b', 3, /^Unexpected character "×" \(U\+00D7\) at column 3/],
    ['a ** 2', 3, /^Unexpected "\*\*" at column 3: write "\^" for a power/],
    ['a + * b', 5, /^Unexpected "\*" at column 5: expected a number, a band name, a function call or "\("/],
    ['and + 1', 1, /^Unexpected "and" at column 1: .* \("and" is a keyword, not a band name\)/],
    ['a +', 4, /^Expected a number, a band name, a function call or "\(" at column 4 but the expression ended/],
    ['(a b)', 4, /^Expected "\)" at column 4 but found "b"/],
    ['where(a, b c)', 12, /^Expected "," or "\)" at column 12 but found "c"/],
    ['(a + b))', 8, /^Unexpected "\)" at column 8 after a complete expression/],
    ['', 1, /^The expression is empty/],
    ['   ', 1, /^The expression is empty/],
    ['12abc', 1, /^Malformed number "12abc" at column 1/],
    ['1e', 1, /^Malformed number "1e" at column 1/],
    ['a == b != c', 8, /^Comparisons cannot be chained at column 8: write "a == b and b != c"/],
    ['min(a)', 1, /min\(a, b, \.\.\.\) takes 2 or more arguments but was given 1/],
    ['sqrt()', 1, /sqrt\(x\) takes 1 argument but was given 0/],
    ['2 * abs(a, b)', 5, /abs\(x\) takes 1 argument but was given 2/],
    ['where(a, b)', 1, /where\(cond, a, b\) takes 3 arguments but was given 2/],
  ])('%j fails at column %i', (source, column, problem) => {
    const err = errorOf(source);
    expect(err.column).toBe(column);
    expect(err.problem).toMatch(problem);
    expect(err.message.split('\n')[2]).toBe(`  ${' '.repeat(column - 1)}^`);
  });

  it('checks band names against the given bands, listing them and suggesting a near one', () => {
    expect(errorOf('(nri - red) / 2', ['nir', 'red']).message).toBe(
      'Unknown band "nri" at column 2: the bands are nir, red (did you mean "nir"?)\n  (nri - red) / 2\n   ^',
    );
    expect(errorOf('RED + 1', ['nir', 'red']).problem).toBe('Unknown band "RED" at column 1: the bands are nir, red (did you mean "red"?)');
    expect(errorOf('swir + 1', ['nir', 'red']).problem).toBe('Unknown band "swir" at column 1: the bands are nir, red');
    expect(errorOf('x', []).problem).toBe('Unknown band "x" at column 1: no bands were given');
    expect(parseExpr('nir - red', { bands: ['red', 'nir', 'swir'] }).bands).toEqual(['nir', 'red']);
  });
});

describe('NDVI', () => {
  it('(nir - red) / (nir + red) equals computeNdvi pixel for pixel, nodata and zero sums included', () => {
    const n = 200_000;
    const rand = prng(42);
    const red = new Uint16Array(n);
    const nir = new Uint16Array(n);
    for (let i = 0; i < n; i++) {
      const r = rand();
      red[i] = r < 0.03 ? 0 : r < 0.06 ? 65535 : Math.floor(rand() * 65536);
      nir[i] = r < 0.03 ? 0 : r > 0.97 ? 1 : Math.floor(rand() * 65536);
    }
    const want = new Float32Array(n);
    const stats = emptyNdviStats();
    computeNdvi(red, nir, 65535, 1, want, stats);
    const got = evaluateExpr(parseExpr('(nir - red) / (nir + red)'), { red: { values: red, nodata: 65535 }, nir: { values: nir, nodata: 1 } }, n);
    let mismatches = 0;
    let nodata = 0;
    for (let i = 0; i < n; i++) {
      if (!Object.is(Math.fround(got[i]!), Math.fround(want[i]!))) mismatches++;
      if (Number.isNaN(got[i]!)) nodata++;
    }
    expect(mismatches).toBe(0);
    expect(nodata).toBe(stats.nodata);
    expect(stats.nodata).toBeGreaterThan(0.08 * n);
  });
});

// A tree of our own, a renderer that leaves out the parentheses precedence allows, and a per-pixel evaluator.
type Tree =
  | { k: 'num'; v: number; text: string }
  | { k: 'band'; name: string }
  | { k: 'un'; op: '-' | '+' | 'not'; a: Tree }
  | { k: 'bin'; op: string; l: Tree; r: Tree }
  | { k: 'call'; fn: string; args: Tree[] };

const LEVEL: Record<string, number> = { or: 1, and: 2, '<': 4, '<=': 4, '>': 4, '>=': 4, '==': 4, '!=': 4, '+': 5, '-': 5, '*': 6, '/': 6, '^': 8 };
const LITERALS: [number, string][] = [[0, '0'], [1, '1'], [2, '2'], [0.5, '0.5'], [0.25, '.25'], [3, '3'], [10, '10'], [0.001, '1e-3'], [250, '2.5E+2']];
const ARITY: Record<string, number> = { where: 3, abs: 1, sqrt: 1, log: 1, log10: 1, exp: 1, min: 2, max: 2, clamp: 3 };

function randomTree(rand: () => number, depth: number): Tree {
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  if (depth === 0 || rand() < 0.2) {
    if (rand() < 0.3) {
      const [v, text] = pick(LITERALS);
      return { k: 'num', v, text };
    }
    return { k: 'band', name: pick(['a', 'b', 'c', 'd']) };
  }
  const r = rand();
  if (r < 0.15) return { k: 'un', op: pick(['-', '+', 'not'] as const), a: randomTree(rand, depth - 1) };
  if (r < 0.75) return { k: 'bin', op: pick(Object.keys(LEVEL)), l: randomTree(rand, depth - 1), r: randomTree(rand, depth - 1) };
  const fn = pick(Object.keys(ARITY));
  const count = ARITY[fn]! + (fn === 'min' || fn === 'max' ? Math.floor(rand() * 3) : 0);
  return { k: 'call', fn, args: Array.from({ length: count }, () => randomTree(rand, depth - 1)) };
}

function levelOf(t: Tree): number {
  if (t.k === 'bin') return LEVEL[t.op]!;
  if (t.k === 'un') return t.op === 'not' ? 3 : 7;
  return 9;
}

/** Source text with only the parentheses needed (and, at random, a few more). */
function render(t: Tree, rand: () => number): string {
  const sub = (c: Tree, min: number): string => {
    const s = render(c, rand);
    return levelOf(c) < min || rand() < 0.1 ? `(${s})` : s;
  };
  switch (t.k) {
    case 'num':
      return t.text;
    case 'band':
      return t.name;
    case 'un':
      return t.op === 'not' ? `not ${sub(t.a, 3)}` : `${t.op}${sub(t.a, 7)}`;
    case 'call':
      return `${t.fn}(${t.args.map((a) => sub(a, 1)).join(', ')})`;
    case 'bin': {
      const lv = LEVEL[t.op]!;
      if (t.op === '^') return `${sub(t.l, 9)} ^ ${sub(t.r, 7)}`;
      if (lv === 4) return `${sub(t.l, 5)} ${t.op} ${sub(t.r, 5)}`;
      return `${sub(t.l, lv)} ${t.op} ${sub(t.r, lv + 1)}`;
    }
  }
}

function canonical(t: Tree): string {
  if (t.k === 'num') return String(t.v);
  if (t.k === 'band') return t.name;
  if (t.k === 'un') return t.op === 'not' ? `(not ${canonical(t.a)})` : `(${t.op}${canonical(t.a)})`;
  if (t.k === 'bin') return `(${canonical(t.l)} ${t.op} ${canonical(t.r)})`;
  return `${t.fn}(${t.args.map(canonical).join(', ')})`;
}

function bandsOf(t: Tree, seen: string[] = []): string[] {
  if (t.k === 'band' && !seen.includes(t.name)) seen.push(t.name);
  if (t.k === 'un') bandsOf(t.a, seen);
  if (t.k === 'bin') [t.l, t.r].forEach((c) => bandsOf(c, seen));
  if (t.k === 'call') t.args.forEach((c) => bandsOf(c, seen));
  return seen;
}

const truthy = (v: number): boolean => v !== 0 && !Number.isNaN(v);
const bool = (b: boolean): number => (b ? 1 : 0);

const BIN: Record<string, (l: number, r: number) => number> = {
  or: (l, r) => bool(truthy(l) || truthy(r)), and: (l, r) => bool(truthy(l) && truthy(r)),
  '<': (l, r) => bool(l < r), '<=': (l, r) => bool(l <= r), '>': (l, r) => bool(l > r), '>=': (l, r) => bool(l >= r),
  '==': (l, r) => bool(l === r), '!=': (l, r) => bool(l !== r),
  '+': (l, r) => l + r, '-': (l, r) => l - r, '*': (l, r) => l * r, '/': (l, r) => l / r, '^': (l, r) => Math.pow(l, r),
};
const FN: Record<string, (v: number[]) => number> = {
  where: (v) => (truthy(v[0]!) ? v[1]! : v[2]!), clamp: (v) => Math.min(Math.max(v[0]!, v[1]!), v[2]!),
  abs: (v) => Math.abs(v[0]!), sqrt: (v) => Math.sqrt(v[0]!), log: (v) => Math.log(v[0]!), log10: (v) => Math.log10(v[0]!),
  exp: (v) => Math.exp(v[0]!), min: (v) => Math.min(...v), max: (v) => Math.max(...v),
};

/** The tree's value at one pixel, computed node by node in the obvious way. */
function reference(t: Tree, px: Record<string, number>): number {
  if (t.k === 'num') return t.v;
  if (t.k === 'band') return px[t.name]!;
  if (t.k === 'call') return FN[t.fn]!(t.args.map((c) => reference(c, px)));
  if (t.k === 'bin') return BIN[t.op]!(reference(t.l, px), reference(t.r, px));
  const x = reference(t.a, px);
  return t.op === '-' ? -x : t.op === '+' ? x : bool(!truthy(x));
}

describe('random expressions', () => {
  it('parse to the intended grouping and evaluate exactly as a per-pixel reference does', () => {
    const rand = prng(7);
    const n = 700;
    const sample = (): number => (rand() < 0.7 ? Math.floor(rand() * 7) - 3 : rand() * 8 - 4);
    const a = Float64Array.from({ length: n }, () => (rand() < 0.03 ? Number.NaN : sample()));
    const b = Float32Array.from({ length: n }, () => sample());
    const c = Int16Array.from({ length: n }, () => Math.floor(rand() * 9) - 4);
    const d = Float64Array.from({ length: n }, () => sample());
    const bands: Bands = { a: { values: a, nodata: null }, b: { values: b, nodata: -3 }, c: { values: c, nodata: 4 }, d: { values: d, nodata: null } };
    const nodataOf: Record<string, number> = { a: Number.NaN, b: -3, c: 4, d: Number.NaN };
    for (let k = 0; k < 300; k++) {
      const tree = randomTree(rand, 1 + (k % 6));
      const source = render(tree, rand);
      const expr = parseExpr(source, { bands: ['a', 'b', 'c', 'd'] });
      expect(formatExpr(expr), source).toBe(canonical(tree));
      expect(formatExpr(parseExpr(formatExpr(expr))), source).toBe(canonical(tree));
      expect(expr.bands, source).toEqual(bandsOf(tree));
      const got = evaluateExpr(expr, bands, n);
      for (let i = 0; i < n; i++) {
        const px = { a: a[i]!, b: b[i]!, c: c[i]!, d: d[i]! };
        const missing = expr.bands.some((name) => {
          const v = px[name as keyof typeof px];
          return Number.isNaN(v) || v === nodataOf[name];
        });
        const r = reference(tree, px);
        const want = missing || !Number.isFinite(r) ? Number.NaN : r;
        if (!Object.is(got[i], want)) expect({ source, i, px, got: got[i] }).toEqual({ source, i, px, got: want });
      }
    }
  });
});

describe('safety', () => {
  it('never runs the expression as JavaScript', () => {
    const dir = new URL('../../src/algebra/expr/', import.meta.url);
    for (const file of readdirSync(dir)) {
      const text = readFileSync(new URL(file, dir), 'utf8');
      expect(text, file).not.toMatch(/\beval\s*\(|\bnew\s+Function\b|\bFunction\s*\(/);
    }
  });
});
