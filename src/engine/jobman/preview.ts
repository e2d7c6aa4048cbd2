/**
 * The first `max` characters of `value` as JSON, for error messages that quote what a client sent.
 *
 * `JSON.stringify(value).slice(0, max)` serializes all of a value to keep a few characters of it: on a
 * request body of millions of elements that blocks the event loop for a second, and on one nested
 * deeper than the stack it throws a RangeError, turning a 400 into a 500. This writes the text piece
 * by piece, with its own stack instead of recursion, and stops once it has `max` characters.
 */
export function jsonPreview(value: unknown, max: number): string {
  let out = '';
  // Each frame is a value still to write or a container (array or object) partly written.
  type Frame = { value: unknown } | { container: object; keys: readonly string[] | null; length: number; next: number };
  const stack: Frame[] = [{ value }];
  while (stack.length > 0 && out.length < max) {
    const frame = stack[stack.length - 1]!;
    if ('value' in frame) {
      stack.pop();
      const v = frame.value;
      if (Array.isArray(v)) {
        out += '[';
        stack.push({ container: v, keys: null, length: v.length, next: 0 });
      } else if (typeof v === 'object' && v !== null) {
        out += '{';
        const keys = Object.keys(v);
        stack.push({ container: v, keys, length: keys.length, next: 0 });
      } else {
        // A long string is cut before it is quoted; what JSON cannot hold (undefined, a function) is null, as in arrays.
        out += JSON.stringify(typeof v === 'string' ? v.slice(0, max) : v) ?? 'null';
      }
    } else if (frame.next >= frame.length) {
      stack.pop();
      out += frame.keys === null ? ']' : '}';
    } else {
      const i = frame.next++;
      if (i > 0) out += ',';
      const key = frame.keys === null ? i : frame.keys[i]!;
      if (typeof key === 'string') out += `${JSON.stringify(key.slice(0, max))}:`;
      stack.push({ value: (frame.container as Record<string | number, unknown>)[key] });
    }
  }
  return out.slice(0, max);
}
