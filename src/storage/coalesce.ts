import { linkController } from './signals.js';
import { resolveRangesOptions, type RangesOptions } from './options.js';
import { assertValidRange } from './range.js';
import type { ByteRange, ByteSource } from './types.js';

/** One read of the plan and the caller's ranges it serves. */
export interface MergedRead {
  /** Offset of the first byte read. */
  offset: number;
  /** Bytes read. */
  length: number;
  /** The caller's ranges inside it: their index in the caller's list and where they start in this read. */
  parts: { index: number; start: number; length: number }[];
}

/**
 * Plans the reads for a list of ranges: sorted, and merged where they overlap, touch or lie at most
 * `maxGapBytes` apart, without letting a merged read grow past `maxMergedBytes` (one range longer
 * than that stays whole). Plain data and no I/O, so it is easy to test and to log.
 */
export function planCoalescedReads(
  ranges: readonly ByteRange[],
  limits: { maxGapBytes: number; maxMergedBytes: number },
): MergedRead[] {
  const order = ranges
    .map((range, index) => ({ ...range, index }))
    .filter((r) => r.length > 0)
    .sort((a, b) => a.offset - b.offset || a.length - b.length);
  const plan: MergedRead[] = [];
  let current: MergedRead | undefined;
  for (const r of order) {
    const end = r.offset + r.length;
    if (current !== undefined) {
      const currentEnd = current.offset + current.length;
      const mergedLength = Math.max(currentEnd, end) - current.offset;
      if (r.offset - currentEnd <= limits.maxGapBytes && mergedLength <= limits.maxMergedBytes) {
        current.length = mergedLength;
        current.parts.push({ index: r.index, start: r.offset - current.offset, length: r.length });
        continue;
      }
    }
    current = { offset: r.offset, length: r.length, parts: [{ index: r.index, start: 0, length: r.length }] };
    plan.push(current);
  }
  return plan;
}

/**
 * Reads many ranges of one source with as few requests as the gaps allow, several at a time, and
 * returns them in the caller's order. Like `ByteSource.read`, a range running past the end of the
 * object comes back short (empty past the end). The first failure cancels the reads still running.
 */
export async function readRanges(
  source: ByteSource,
  ranges: readonly ByteRange[],
  options: RangesOptions = {},
): Promise<Uint8Array[]> {
  const out: Uint8Array[] = ranges.map(() => new Uint8Array(0));
  await streamRanges(source, ranges, (index, bytes) => (out[index] = bytes), options);
  return out;
}

/**
 * {@link readRanges}, handing each range to `onRange` (with its index in `ranges`) as soon as the read
 * holding it arrives, so a caller can start on the first tiles while the others are still in flight.
 * Resolves when every range has been handed over.
 */
export async function streamRanges(
  source: ByteSource,
  ranges: readonly ByteRange[],
  onRange: (index: number, bytes: Uint8Array) => void,
  options: RangesOptions = {},
): Promise<void> {
  const resolved = resolveRangesOptions(options);
  for (const r of ranges) assertValidRange(source.url, r.offset, r.length);
  resolved.signal?.throwIfAborted();
  const plan = planCoalescedReads(ranges, resolved);
  ranges.forEach((r, index) => {
    if (r.length === 0) onRange(index, new Uint8Array(0));
  });

  const link = linkController(resolved.signal);
  try {
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < plan.length; i = next++) {
        const read = plan[i];
        if (read === undefined) return;
        const bytes = await source.read(read.offset, read.length, { signal: link.signal });
        for (const part of read.parts) {
          // Copies when the read was merged, so each result owns its memory and a small range does
          // not pin the whole merged buffer.
          const slice = bytes.subarray(part.start, part.start + part.length);
          onRange(part.index, read.parts.length === 1 ? slice : slice.slice());
        }
      }
    };
    const workers = Array.from({ length: Math.min(resolved.concurrency, plan.length) }, () =>
      worker().catch((err: unknown) => {
        link.controller.abort(err);
        throw err;
      }),
    );
    const results = await Promise.allSettled(workers);
    resolved.signal?.throwIfAborted();
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw firstCause(failed.reason, link.signal);
  } finally {
    link.dispose();
  }
}

/** After a fail-fast abort the other workers reject with the abort reason; report the original failure. */
function firstCause(reason: unknown, signal: AbortSignal): unknown {
  return signal.aborted ? signal.reason : reason;
}
