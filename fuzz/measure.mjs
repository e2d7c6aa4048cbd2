// The arithmetic both fuzzers use to judge memory growth and report sizes.

/** The least-squares slope of y over x: bytes per case (or request) from [count, heap bytes] samples. */
export function slope(points) {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const num = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const den = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

/** Bytes as MiB to one decimal; null stays null (a figure that could not be read). */
export const mb = (bytes) => (bytes === null ? null : Math.round((bytes / 1024 / 1024) * 10) / 10);
