import { DataboxError } from '../../errors.js';

/**
 * The band-math language of `databox calc --expr`: a tokenizer and a recursive-descent parser that turn
 * the text into an AST. Nothing here runs the expression; `evaluate.ts` does, over typed arrays.
 *
 * Precedence, lowest first: `or`, `and`, `not`, comparisons (`< <= > >= == !=`, not chainable),
 * `+ -`, `* /`, unary `- +`, `^` (right-associative, tighter than a unary sign on its left, so
 * `-2^2` is −4, while the exponent may carry its own sign: `2^-1` is 0.5).
 */

/** The functions an expression may call: their signature, and the fewest and most arguments each takes. */
export const EXPR_FUNCTIONS = {
  abs: { signature: 'abs(x)', min: 1, max: 1 },
  clamp: { signature: 'clamp(x, lo, hi)', min: 3, max: 3 },
  exp: { signature: 'exp(x)', min: 1, max: 1 },
  log: { signature: 'log(x)', min: 1, max: 1 },
  log10: { signature: 'log10(x)', min: 1, max: 1 },
  max: { signature: 'max(a, b, ...)', min: 2, max: Number.POSITIVE_INFINITY },
  min: { signature: 'min(a, b, ...)', min: 2, max: Number.POSITIVE_INFINITY },
  sqrt: { signature: 'sqrt(x)', min: 1, max: 1 },
  where: { signature: 'where(cond, a, b)', min: 3, max: 3 },
} as const;
export type ExprFunction = keyof typeof EXPR_FUNCTIONS;

/** Reserved words; they can never be band names. */
export const EXPR_KEYWORDS = ['and', 'or', 'not'] as const;

export type UnaryOp = '-' | '+' | 'not';
export type ComparisonOp = '<' | '<=' | '>' | '>=' | '==' | '!=';
export type BinaryOp = 'or' | 'and' | ComparisonOp | '+' | '-' | '*' | '/' | '^';

/** Where a node sits in the source: 0-based offsets, `end` exclusive; a parenthesised node includes its parentheses. */
export interface Span {
  /** Offset of the node's first character (its column is `start + 1`). */
  readonly start: number;
  /** Offset just past the node's last character. */
  readonly end: number;
}
export interface NumberNode extends Span {
  readonly kind: 'number';
  /** The literal's value as a double. */
  readonly value: number;
  /** The literal as written, e.g. `.5`. */
  readonly text: string;
}
export interface BandNode extends Span {
  readonly kind: 'band';
  /** The band's name, case-sensitive. */
  readonly name: string;
}
export interface UnaryNode extends Span {
  readonly kind: 'unary';
  readonly op: UnaryOp;
  readonly arg: ExprNode;
}
export interface BinaryNode extends Span {
  readonly kind: 'binary';
  readonly op: BinaryOp;
  readonly left: ExprNode;
  readonly right: ExprNode;
}
export interface CallNode extends Span {
  readonly kind: 'call';
  readonly fn: ExprFunction;
  readonly args: readonly ExprNode[];
}
/** A node of a parsed expression. */
export type ExprNode = NumberNode | BandNode | UnaryNode | BinaryNode | CallNode;

/** A parsed expression. */
export interface Expr {
  /** The expression as written. */
  readonly source: string;
  /** Band names used, in order of first use. */
  readonly bands: readonly string[];
  /** The syntax tree, exactly as written (constants are folded later, when it is compiled). */
  readonly ast: ExprNode;
}

/** A mistake in an expression: `problem` names it and its column; the message adds the expression and a caret. */
export class ExprError extends DataboxError {
  /** The expression as written. */
  readonly source: string;
  /** The 1-based column the problem is at, or null when it is not at one place. */
  readonly column: number | null;
  /** The first line of the message: what is wrong, and where. */
  readonly problem: string;

  constructor(problem: string, source: string, column: number | null) {
    super('ERR_EXPR', column === null ? problem : `${problem}\n${pointAt(source, column)}`);
    this.source = source;
    this.column = column;
    this.problem = problem;
  }
}

/** The expression and a caret line under `column` (1-based), both indented by two spaces. */
function pointAt(source: string, column: number): string {
  // Tabs and line breaks would throw the caret off its column; show them as spaces.
  return `  ${source.replace(/[\t\r\n\v\f]/g, ' ')}\n  ${' '.repeat(column - 1)}^`;
}

interface Token {
  readonly kind: 'number' | 'name' | 'op' | 'end';
  readonly text: string;
  readonly start: number;
}

const NUMBER = /(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?/y;
const NUMBER_TAIL = /[0-9A-Za-z_.]*/y;
const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;
const OPERATORS = ['<=', '>=', '==', '!=', '+', '-', '*', '/', '^', '(', ')', ',', '<', '>'];
const COMPARISONS: readonly string[] = ['<', '<=', '>', '>=', '==', '!='];
/** What to write instead of characters borrowed from other languages. */
const HINTS: Record<string, string> = {
  '=': 'compare with "=="',
  '!': 'write "not" for negation, "!=" for "not equal"',
  '&': 'write "and"',
  '|': 'write "or"',
  '%': 'there is no "%" operator',
};

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const ch = source[i]!;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    NUMBER.lastIndex = i;
    const num = NUMBER.exec(source);
    if (num) {
      NUMBER_TAIL.lastIndex = NUMBER.lastIndex;
      NUMBER_TAIL.exec(source);
      // "1.2.3", "12abc", "1e": a number glued to more number-like text is one bad number, not two tokens.
      if (NUMBER_TAIL.lastIndex > NUMBER.lastIndex) {
        const text = source.slice(i, NUMBER_TAIL.lastIndex);
        throw new ExprError(`Malformed number "${text}" at column ${i + 1}: numbers look like 12, 0.5, .5, 1e-3`, source, i + 1);
      }
      tokens.push({ kind: 'number', text: num[0], start: i });
      i = NUMBER.lastIndex;
      continue;
    }
    NAME.lastIndex = i;
    const name = NAME.exec(source);
    if (name) {
      tokens.push({ kind: 'name', text: name[0], start: i });
      i = NAME.lastIndex;
      continue;
    }
    if (source.startsWith('**', i)) throw new ExprError(`Unexpected "**" at column ${i + 1}: write "^" for a power`, source, i + 1);
    const op = OPERATORS.find((o) => source.startsWith(o, i));
    if (op !== undefined) {
      tokens.push({ kind: 'op', text: op, start: i });
      i += op.length;
      continue;
    }
    const cp = source.codePointAt(i)!;
    const char = String.fromCodePoint(cp);
    const code = cp < 0x20 || cp > 0x7e ? ` (U+${cp.toString(16).toUpperCase().padStart(4, '0')})` : '';
    const hint = HINTS[char];
    throw new ExprError(`Unexpected character "${char}"${code} at column ${i + 1}${hint ? `: ${hint}` : ''}`, source, i + 1);
  }
  // The end sits just past the last non-blank character, where a reader expects the next one.
  tokens.push({ kind: 'end', text: '', start: source.trimEnd().length });
  return tokens;
}

const OPERAND = 'a number, a band name, a function call or "("';

class Parser {
  private readonly tokens: Token[];
  private pos = 0;
  readonly bandsUsed: string[] = [];

  constructor(
    private readonly source: string,
    private readonly knownBands: readonly string[] | undefined,
  ) {
    this.tokens = tokenize(source);
  }

  parse(): ExprNode {
    if (this.peek().kind === 'end') {
      throw new ExprError(`The expression is empty: expected ${OPERAND} at column 1`, this.source, 1);
    }
    const node = this.parseOr();
    const t = this.peek();
    if (t.kind !== 'end') this.fail(t, `Unexpected "${t.text}" at column ${t.start + 1} after a complete expression`);
    return node;
  }

  private peek(): Token {
    return this.tokens[this.pos]!;
  }

  private next(): Token {
    return this.tokens[this.pos++]!;
  }

  private isOp(text: string): boolean {
    const t = this.peek();
    return (t.kind === 'op' || t.kind === 'name') && t.text === text;
  }

  private fail(t: Token, problem: string): never {
    throw new ExprError(problem, this.source, t.start + 1);
  }

  /** Consumes `text` or fails with "Expected ..." at the token that stands there instead. */
  private expect(text: string, what = `"${text}"`): Token {
    const t = this.peek();
    if (t.kind === 'op' && t.text === text) return this.next();
    const found = t.kind === 'end' ? 'but the expression ended' : `but found "${t.text}"`;
    return this.fail(t, `Expected ${what} at column ${t.start + 1} ${found}`);
  }

  private binary(op: BinaryOp, left: ExprNode, right: ExprNode): BinaryNode {
    return { kind: 'binary', op, left, right, start: left.start, end: right.end };
  }

  private parseOr(): ExprNode {
    let left = this.parseAnd();
    while (this.isOp('or')) {
      this.next();
      left = this.binary('or', left, this.parseAnd());
    }
    return left;
  }

  private parseAnd(): ExprNode {
    let left = this.parseNot();
    while (this.isOp('and')) {
      this.next();
      left = this.binary('and', left, this.parseNot());
    }
    return left;
  }

  private parseNot(): ExprNode {
    if (!this.isOp('not')) return this.parseComparison();
    const t = this.next();
    const arg = this.parseNot();
    return { kind: 'unary', op: 'not', arg, start: t.start, end: arg.end };
  }

  private parseComparison(): ExprNode {
    const left = this.parseAdditive();
    const t = this.peek();
    if (t.kind !== 'op' || !COMPARISONS.includes(t.text)) return left;
    this.next();
    const node = this.binary(t.text as ComparisonOp, left, this.parseAdditive());
    const t2 = this.peek();
    if (t2.kind === 'op' && COMPARISONS.includes(t2.text)) {
      this.next();
      const third = this.parseAdditive();
      const [a, b, c] = [left, node.right, third].map((n) => this.source.slice(n.start, n.end));
      this.fail(t2, `Comparisons cannot be chained at column ${t2.start + 1}: write "${a} ${t.text} ${b} and ${b} ${t2.text} ${c}"`);
    }
    return node;
  }

  private parseAdditive(): ExprNode {
    let left = this.parseMultiplicative();
    while (this.isOp('+') || this.isOp('-')) {
      const op = this.next().text as '+' | '-';
      left = this.binary(op, left, this.parseMultiplicative());
    }
    return left;
  }

  private parseMultiplicative(): ExprNode {
    let left = this.parseUnary();
    while (this.isOp('*') || this.isOp('/')) {
      const op = this.next().text as '*' | '/';
      left = this.binary(op, left, this.parseUnary());
    }
    return left;
  }

  private parseUnary(): ExprNode {
    if (!this.isOp('-') && !this.isOp('+')) return this.parsePower();
    const t = this.next();
    const arg = this.parseUnary();
    return { kind: 'unary', op: t.text as '-' | '+', arg, start: t.start, end: arg.end };
  }

  private parsePower(): ExprNode {
    const base = this.parsePrimary();
    if (!this.isOp('^')) return base;
    this.next();
    // The exponent is a unary expression, so `2^-1` works and `2^3^2` groups to the right.
    return this.binary('^', base, this.parseUnary());
  }

  private parsePrimary(): ExprNode {
    const t = this.next();
    if (t.kind === 'number') return { kind: 'number', value: Number(t.text), text: t.text, start: t.start, end: t.start + t.text.length };
    if (t.kind === 'op' && t.text === '(') {
      const inner = this.parseOr();
      const close = this.expect(')');
      return { ...inner, start: t.start, end: close.start + 1 };
    }
    if (t.kind === 'name' && !(EXPR_KEYWORDS as readonly string[]).includes(t.text)) {
      if (this.isOp('(')) return this.parseCall(t);
      return this.band(t);
    }
    const at = `at column ${t.start + 1}`;
    if (t.kind === 'end') this.fail(t, `Expected ${OPERAND} ${at} but the expression ended`);
    const keyword = t.kind === 'name' ? ` ("${t.text}" is a keyword, not a band name)` : '';
    return this.fail(t, `Unexpected "${t.text}" ${at}: expected ${OPERAND}${keyword}`);
  }

  private band(t: Token): BandNode {
    const name = t.text;
    const known = this.knownBands;
    if (known !== undefined && !known.includes(name)) {
      const list = known.length === 0 ? 'no bands were given' : `the bands are ${known.join(', ')}`;
      const near = known.find((k) => k.toLowerCase() === name.toLowerCase() || editDistance(k, name) <= (name.length > 4 ? 2 : name.length > 1 ? 1 : 0));
      const guess = near === undefined ? '' : ` (did you mean "${near}"?)`;
      this.fail(t, `Unknown band "${name}" at column ${t.start + 1}: ${list}${guess}`);
    }
    if (!this.bandsUsed.includes(name)) this.bandsUsed.push(name);
    return { kind: 'band', name, start: t.start, end: t.start + name.length };
  }

  private parseCall(t: Token): CallNode {
    const fn = t.text;
    if (!Object.hasOwn(EXPR_FUNCTIONS, fn)) {
      this.fail(t, `Unknown function "${fn}" at column ${t.start + 1}: the functions are ${Object.keys(EXPR_FUNCTIONS).join(', ')}`);
    }
    const spec = EXPR_FUNCTIONS[fn as ExprFunction];
    this.next();
    const args: ExprNode[] = [];
    if (!this.isOp(')')) {
      args.push(this.parseOr());
      while (this.isOp(',')) {
        this.next();
        args.push(this.parseOr());
      }
    }
    const close = this.expect(')', args.length === 0 ? '")"' : '"," or ")"');
    if (args.length < spec.min || args.length > spec.max) {
      const wanted = spec.max === spec.min ? String(spec.min) : `${spec.min} or more`;
      const noun = spec.min === 1 && spec.max === 1 ? 'argument' : 'arguments';
      this.fail(t, `Wrong number of arguments at column ${t.start + 1}: ${spec.signature} takes ${wanted} ${noun} but was given ${args.length}`);
    }
    return { kind: 'call', fn: fn as ExprFunction, args, start: t.start, end: close.start + 1 };
  }
}

/** Edit distance counting a swap of neighbours as one edit (optimal string alignment), for "did you mean". */
function editDistance(a: string, b: string): number {
  let before: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      let d = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, before[j - 2]! + 1);
      row[j] = d;
    }
    [before, prev] = [prev, row];
  }
  return prev[b.length]!;
}

/**
 * Parses a band-math expression. With `options.bands`, every band name the expression uses must be
 * one of them. Throws ExprError, whose message names the problem and its column and points at it.
 */
export function parseExpr(source: string, options: { bands?: readonly string[] } = {}): Expr {
  const parser = new Parser(source, options.bands);
  const ast = parser.parse();
  return { source, bands: parser.bandsUsed, ast };
}

/** The fully parenthesised canonical form of an expression, e.g. `((nir - red) / (nir + red))`. */
export function formatExpr(expr: Expr): string {
  return formatNode(expr.ast);
}

function formatNode(node: ExprNode): string {
  switch (node.kind) {
    case 'number':
      return Number.isFinite(node.value) ? String(node.value) : node.text;
    case 'band':
      return node.name;
    case 'unary':
      return node.op === 'not' ? `(not ${formatNode(node.arg)})` : `(${node.op}${formatNode(node.arg)})`;
    case 'binary':
      return `(${formatNode(node.left)} ${node.op} ${formatNode(node.right)})`;
    case 'call':
      return `${node.fn}(${node.args.map(formatNode).join(', ')})`;
  }
}
