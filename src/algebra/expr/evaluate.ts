import { ExprError, type Expr, type ExprNode } from './parse.js';

/**
 * Vectorised evaluation of a parsed expression. The tree is compiled once (and cached per Expr) into a
 * flat list of steps over numbered Float64Array registers, folding constant subtrees on the way; the
 * pixels are then run through the steps a chunk at a time, each step one tight loop over the chunk. A
 * per-pixel interpreter would pay a dispatch for every node at every pixel.
 */

/** One band's pixels. */
export interface BandInput {
  /** The pixel values, row-major; any TypedArray (Uint8Array ... Float64Array) or a plain array. */
  values: ArrayLike<number>;
  /** The value that marks a pixel as missing, or null when none does (NaN is always missing). */
  nodata: number | null;
}

/** Pixels per chunk: 4096 doubles (32 KiB) per register keeps a small expression's working set in L2. */
const CHUNK = 4096;

/** One step: `out = f(a, b, c)` over the first `n` values; steps that take fewer arguments ignore the rest. */
type Kernel = (out: Float64Array, a: Float64Array, b: Float64Array, c: Float64Array, n: number) => void;

// `x ? 1 : 0` is JavaScript's truthiness, which is exactly ours: zero and NaN are false, everything else true.
const KERNELS = {
  neg: (o, a, _b, _c, n) => { for (let i = 0; i < n; i++) o[i] = -a[i]!; },
  not: (o, a, _b, _c, n) => { for (let i = 0; i < n; i++) o[i] = a[i]! ? 0 : 1; },
  '+': (o, a, b, _c, n) => { for (let i = 0; i < n; i++) o[i] = a[i]! + b[i]!; },
  '-': (o, a, b, _c, n) => { for (let i = 0; i < n; i++) o[i] = a[i]! - b[i]!; },
  '*': (o, a, b, _c, n) => { for (let i = 0; i < n; i++) o[i] = a[i]! * b[i]!; },
  '/': (o, a, b, _c, n) => { for (let i = 0; i < n; i++) o[i] = a[i]! / b[i]!; },
  '^': (o, a, b, _c, n) => { for (let i = 0; i < n; i++) o[i] = Math.pow(a[i]!, b[i]!); },
  '<': (o, a, b, _c, n) => { for (let i = 0; i < n; i++) o[i] = a[i]! < b[i]! ? 1 : 0; },
  '<=': (o, a, b, _c, n) => { for (let i = 0; i < n; i++) o[i] = a[i]! <= b[i]! ? 1 : 0; },
  '>': (o, a, b, _c, n) => { for (let i = 0; i < n; i++) o[i] = a[i]! > b[i]! ? 1 : 0; },
  '>=': (o, a, b, _c, n) => { for (let i = 0; i < n; i++) o[i] = a[i]! >= b[i]! ? 1 : 0; },
  '==': (o, a, b, _c, n) => { for (let i = 0; i < n; i++) o[i] = a[i]! === b[i]! ? 1 : 0; },
  '!=': (o, a, b, _c, n) => { for (let i = 0; i < n; i++) o[i] = a[i]! !== b[i]! ? 1 : 0; },
  and: (o, a, b, _c, n) => { for (let i = 0; i < n; i++) o[i] = a[i]! ? (b[i]! ? 1 : 0) : 0; },
  or: (o, a, b, _c, n) => { for (let i = 0; i < n; i++) o[i] = a[i]! ? 1 : b[i]! ? 1 : 0; },
  where: (o, a, b, c, n) => { for (let i = 0; i < n; i++) o[i] = a[i]! ? b[i]! : c[i]!; },
  abs: (o, a, _b, _c, n) => { for (let i = 0; i < n; i++) o[i] = Math.abs(a[i]!); },
  sqrt: (o, a, _b, _c, n) => { for (let i = 0; i < n; i++) o[i] = Math.sqrt(a[i]!); },
  log: (o, a, _b, _c, n) => { for (let i = 0; i < n; i++) o[i] = Math.log(a[i]!); },
  log10: (o, a, _b, _c, n) => { for (let i = 0; i < n; i++) o[i] = Math.log10(a[i]!); },
  exp: (o, a, _b, _c, n) => { for (let i = 0; i < n; i++) o[i] = Math.exp(a[i]!); },
  // Math.min/max return NaN when either argument is NaN, which is what we promise.
  min: (o, a, b, _c, n) => { for (let i = 0; i < n; i++) o[i] = Math.min(a[i]!, b[i]!); },
  max: (o, a, b, _c, n) => { for (let i = 0; i < n; i++) o[i] = Math.max(a[i]!, b[i]!); },
  clamp: (o, a, b, c, n) => { for (let i = 0; i < n; i++) o[i] = Math.min(Math.max(a[i]!, b[i]!), c[i]!); },
} satisfies Record<string, Kernel>;
type KernelName = keyof typeof KERNELS;

interface Step {
  readonly kernel: Kernel;
  readonly out: number;
  readonly a: number;
  readonly b: number;
  readonly c: number;
}

/** The compiled form of an expression: plain data, the same for every call. */
interface Program {
  /** How many chunk-sized registers a run needs. */
  readonly registers: number;
  /** Registers that hold one value throughout, filled once per call. */
  readonly constants: readonly { readonly reg: number; readonly value: number }[];
  /** Registers loaded from each band, chunk by chunk; `start` is the band's first use, for errors. */
  readonly bands: readonly { readonly name: string; readonly reg: number; readonly start: number }[];
  readonly steps: readonly Step[];
  /** The result: a register, or a constant when the expression uses no band. */
  readonly result: { readonly reg: number } | { readonly value: number };
}

type Operand = { readonly kind: 'const'; readonly value: number } | { readonly kind: 'reg'; readonly reg: number; readonly temp: boolean };

class Compiler {
  private registers = 0;
  private readonly free: number[] = [];
  private readonly constRegs = new Map<string, number>();
  readonly constants: { reg: number; value: number }[] = [];
  readonly bands: { name: string; reg: number; start: number }[] = [];
  readonly steps: Step[] = [];

  compile(node: ExprNode): Operand {
    switch (node.kind) {
      case 'number':
        return { kind: 'const', value: node.value };
      case 'band': {
        let band = this.bands.find((b) => b.name === node.name);
        if (band === undefined) {
          band = { name: node.name, reg: this.registers++, start: node.start };
          this.bands.push(band);
        }
        return { kind: 'reg', reg: band.reg, temp: false };
      }
      case 'unary':
        if (node.op === '+') return this.compile(node.arg);
        return this.emit(node.op === '-' ? 'neg' : 'not', [this.compile(node.arg)]);
      case 'binary':
        return this.emit(node.op, [this.compile(node.left), this.compile(node.right)]);
      case 'call': {
        const args = node.args.map((a) => this.compile(a));
        if (node.fn !== 'min' && node.fn !== 'max') return this.emit(node.fn, args);
        // n-ary min/max as a left-to-right chain of pairs.
        return args.slice(1).reduce((acc, arg) => this.emit(node.fn as 'min' | 'max', [acc, arg]), args[0]!);
      }
    }
  }

  private emit(name: KernelName, args: readonly Operand[]): Operand {
    const kernel: Kernel = KERNELS[name];
    if (args.every((a) => a.kind === 'const')) {
      // Fold with the very kernel a run would use, so folded and unfolded results cannot differ.
      const one = args.map((a) => Float64Array.of(a.kind === 'const' ? a.value : 0));
      const out = new Float64Array(1);
      kernel(out, one[0]!, one[1] ?? out, one[2] ?? out, 1);
      return { kind: 'const', value: out[0]! };
    }
    const regs = args.map((a) => (a.kind === 'const' ? this.constReg(a.value) : a.reg));
    // Kernels read index i of every input before writing index i of the output, so a step may
    // overwrite one of its own inputs: free the temporaries first and the result can reuse one.
    for (const a of args) if (a.kind === 'reg' && a.temp) this.free.push(a.reg);
    const out = this.free.pop() ?? this.registers++;
    this.steps.push({ kernel, out, a: regs[0]!, b: regs[1] ?? out, c: regs[2] ?? out });
    return { kind: 'reg', reg: out, temp: true };
  }

  private constReg(value: number): number {
    // Map keys treat 0 and −0 as one; they differ (1 / −0 is −Infinity), so key on the text.
    const key = Object.is(value, -0) ? '-0' : String(value);
    let reg = this.constRegs.get(key);
    if (reg === undefined) {
      reg = this.registers++;
      this.constRegs.set(key, reg);
      this.constants.push({ reg, value });
    }
    return reg;
  }

  program(result: Operand): Program {
    const { registers, constants, bands, steps } = this;
    return { registers, constants, bands, steps, result: result.kind === 'const' ? { value: result.value } : { reg: result.reg } };
  }
}

const programs = new WeakMap<Expr, Program>();

function programOf(expr: Expr): Program {
  let program = programs.get(expr);
  if (program === undefined) {
    const compiler = new Compiler();
    program = compiler.program(compiler.compile(expr.ast));
    programs.set(expr, program);
  }
  return program;
}

function isMap(bands: ReadonlyMap<string, BandInput> | Readonly<Record<string, BandInput>>): bands is ReadonlyMap<string, BandInput> {
  return bands instanceof Map;
}

function isIntegerArray(values: ArrayLike<number>): boolean {
  return (
    values instanceof Uint8Array || values instanceof Uint16Array || values instanceof Uint32Array || values instanceof Int8Array ||
    values instanceof Int16Array || values instanceof Int32Array || values instanceof Uint8ClampedArray
  );
}

type View = ArrayLike<number> & { subarray(begin: number, end: number): ArrayLike<number> };

/** True for a TypedArray (every ArrayBuffer view but DataView). */
function isView(values: ArrayLike<number>): values is View {
  return ArrayBuffer.isView(values) && !(values instanceof DataView);
}

interface BoundBand {
  readonly buffer: Float64Array;
  readonly values: ArrayLike<number>;
  /** The values as a typed array, copied with `set` (converted in native code); null for a plain array. */
  readonly view: View | null;
  /** The nodata value to compare against; NaN when there is none (NaN never equals anything). */
  readonly nodata: number;
  /** False for an integer band without nodata: none of its pixels can be missing, so no check is made. */
  readonly check: boolean;
}

/**
 * Evaluates `expr` over `length` pixels. `out[i]` is the expression's value, or NaN where the pixel is
 * nodata: where ANY band the expression uses is nodata there (its value equals the band's `nodata`, or
 * is NaN), even a band only a `where()` branch that was not taken reads, or where the result is NaN or
 * ±Infinity. Intermediate NaN and ±Infinity are fine: `where(b > 0, a / b, 0)` is 0 where b is 0.
 *
 * Throws ExprError when a band the expression uses is missing from `bands` or has fewer than `length`
 * values, or when `out` is shorter than `length`. Returns `out` (a new array when none is given).
 */
export function evaluateExpr(
  expr: Expr,
  bands: ReadonlyMap<string, BandInput> | Readonly<Record<string, BandInput>>,
  length: number,
  out?: Float64Array,
): Float64Array {
  if (!Number.isSafeInteger(length) || length < 0) throw new ExprError(`length must be a non-negative integer, got ${length}`, expr.source, null);
  const result = out ?? new Float64Array(length);
  if (result.length < length) throw new ExprError(`out has ${result.length} values but length is ${length}`, expr.source, null);
  const program = programOf(expr);
  const size = Math.min(CHUNK, Math.max(length, 1));
  const regs = Array.from({ length: program.registers }, () => new Float64Array(size));
  for (const { reg, value } of program.constants) regs[reg]!.fill(value);

  const bound: BoundBand[] = program.bands.map(({ name, reg, start }) => {
    const input = isMap(bands) ? bands.get(name) : Object.hasOwn(bands, name) ? bands[name] : undefined;
    if (input === undefined) {
      const given = [...(isMap(bands) ? bands.keys() : Object.keys(bands))];
      const list = given.length === 0 ? 'none were given' : `given: ${given.join(', ')}`;
      throw new ExprError(`No values for band "${name}" at column ${start + 1} (${list})`, expr.source, start + 1);
    }
    const { values, nodata } = input;
    if (values.length < length) {
      throw new ExprError(`Band "${name}" at column ${start + 1} has ${values.length} values but ${length} pixels were asked for`, expr.source, start + 1);
    }
    return { buffer: regs[reg]!, values, view: isView(values) ? values : null, nodata: nodata ?? Number.NaN, check: nodata !== null || !isIntegerArray(values) };
  });
  const masked = bound.some((b) => b.check);
  const mask = new Uint8Array(masked ? size : 0);

  if ('value' in program.result) {
    // No band: the same value everywhere.
    const v = program.result.value;
    result.fill(Number.isFinite(v) ? v : Number.NaN, 0, length);
    return result;
  }
  const res = regs[program.result.reg]!;
  const steps = program.steps;
  for (let off = 0; off < length; off += size) {
    const n = Math.min(size, length - off);
    if (masked) mask.fill(0, 0, n);
    for (const band of bound) loadBand(band, off, n, mask);
    for (const s of steps) s.kernel(regs[s.out]!, regs[s.a]!, regs[s.b]!, regs[s.c]!, n);
    if (masked) finishMasked(result, res, mask, off, n);
    else finish(result, res, off, n);
  }
  return result;
}

// `v - v` is 0 for a finite v and NaN for NaN or ±Infinity.
function finish(out: Float64Array, res: Float64Array, off: number, n: number): void {
  for (let j = 0; j < n; j++) {
    const v = res[j]!;
    out[off + j] = v - v === 0 ? v : Number.NaN;
  }
}

function finishMasked(out: Float64Array, res: Float64Array, mask: Uint8Array, off: number, n: number): void {
  for (let j = 0; j < n; j++) {
    const v = res[j]!;
    out[off + j] = v - v === 0 && mask[j] === 0 ? v : Number.NaN;
  }
}

/** Copies pixels off..off+n of a band into its register as doubles, marking its missing pixels in `mask`. */
function loadBand(band: BoundBand, off: number, n: number, mask: Uint8Array): void {
  const buf = band.buffer;
  if (band.view !== null) {
    buf.set(band.view.subarray(off, off + n));
  } else {
    const src = band.values;
    for (let j = 0; j < n; j++) buf[j] = src[off + j]!;
  }
  if (!band.check) return;
  const nodata = band.nodata;
  for (let j = 0; j < n; j++) {
    const v = buf[j]!;
    // NaN never equals itself; `=== nodata` never matches when nodata is NaN.
    if (v !== v || v === nodata) mask[j] = 1;
  }
}
