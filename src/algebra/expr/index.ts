/**
 * Band math for `databox calc --expr "<expression>" --band NAME=<url>`: a small expression language,
 * parsed (never run as JavaScript) and evaluated chunk by chunk over typed arrays.
 */
export {
  EXPR_FUNCTIONS,
  EXPR_KEYWORDS,
  ExprError,
  formatExpr,
  parseExpr,
  type BandNode,
  type BinaryNode,
  type BinaryOp,
  type CallNode,
  type ComparisonOp,
  type Expr,
  type ExprFunction,
  type ExprNode,
  type NumberNode,
  type Span,
  type UnaryNode,
  type UnaryOp,
} from './parse.js';
export { evaluateExpr, type BandInput } from './evaluate.js';
