import { describe, expect, it } from 'vitest';

import { planCoalescedReads, readRanges } from '../../src/storage/index.js';
import { expectSameBytes, patternBytes } from './support/bytes.js';
import { MemorySource } from './support/memory-source.js';

const limits = { maxGapBytes: 100, maxMergedBytes: 10_000 };

describe('planning coalesced reads', () => {
  it('merges ranges that touch, overlap or lie within the gap, in offset order', () => {
    const plan = planCoalescedReads(
      [
        { offset: 500, length: 100 }, // 2: touches 1
        { offset: 0, length: 100 }, //   0
        { offset: 150, length: 100 }, // 1: 50-byte gap after 0
        { offset: 550, length: 10 }, //  3: inside 2
      ],
      limits,
    );
    expect(plan).toEqual([
      {
        offset: 0,
        length: 250,
        parts: [
          { index: 1, start: 0, length: 100 },
          { index: 2, start: 150, length: 100 },
        ],
      },
      {
        offset: 500,
        length: 100,
        parts: [
          { index: 0, start: 0, length: 100 },
          { index: 3, start: 50, length: 10 },
        ],
      },
    ]);
  });

  it('keeps ranges apart when the gap is larger than maxGapBytes', () => {
    const plan = planCoalescedReads(
      [
        { offset: 0, length: 10 },
        { offset: 111, length: 10 },
      ],
      limits,
    );
    expect(plan.map((r) => [r.offset, r.length])).toEqual([
      [0, 10],
      [111, 10],
    ]);
  });

  it('stops growing a merged read at maxMergedBytes but keeps a single bigger range whole', () => {
    const plan = planCoalescedReads(
      [
        { offset: 0, length: 6_000 },
        { offset: 6_000, length: 6_000 },
        { offset: 12_000, length: 20_000 },
      ],
      limits,
    );
    expect(plan.map((r) => [r.offset, r.length])).toEqual([
      [0, 6_000],
      [6_000, 6_000],
      [12_000, 20_000],
    ]);
  });

  it('plans no read for zero-length ranges', () => {
    expect(planCoalescedReads([{ offset: 5, length: 0 }], limits)).toEqual([]);
  });
});

describe('reading coalesced ranges', () => {
  const data = patternBytes(100_000, 51);

  it('returns each range in the caller order, byte for byte, with one read per merged range', async () => {
    const source = new MemorySource(data);
    const ranges = [
      { offset: 90_000, length: 500 },
      { offset: 1_000, length: 2_000 },
      { offset: 3_000, length: 10 },
      { offset: 0, length: 0 },
    ];
    const got = await readRanges(source, ranges);
    expect(source.reads).toEqual([
      { offset: 1_000, length: 2_010 },
      { offset: 90_000, length: 500 },
    ]);
    ranges.forEach((r, i) => expectSameBytes(got[i] ?? new Uint8Array(1), data.subarray(r.offset, r.offset + r.length)));
  });

  it('clips ranges past the end of the object as reads do', async () => {
    const got = await readRanges(new MemorySource(data), [
      { offset: 99_990, length: 100 },
      { offset: 200_000, length: 10 },
    ]);
    expect(got.map((b) => b.length)).toEqual([10, 0]);
  });

  it('keeps no more than `concurrency` reads in flight', async () => {
    const source = new MemorySource(data);
    const ranges = Array.from({ length: 6 }, (_, i) => ({ offset: i * 10_000, length: 10 }));
    expect(await readRanges(source, ranges, { concurrency: 2, maxGapBytes: 0 })).toHaveLength(6);
    expect(source.reads).toHaveLength(6);
    expect(source.maxInFlight).toBe(2);
  });

  it('fails with the first error and cancels the reads still running', async () => {
    const source = new MemorySource(data);
    source.hold();
    source.failNext(new Error('bad sector'));
    const reading = readRanges(
      source,
      [
        { offset: 0, length: 10 },
        { offset: 50_000, length: 10 },
      ],
      { maxGapBytes: 0 },
    );
    await expect(reading).rejects.toThrow('bad sector');
    expect(source.aborted).toBe(1);
    source.release();
  });

  it("rejects with the signal's reason when aborted", async () => {
    const controller = new AbortController();
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(readRanges(new MemorySource(data), [{ offset: 0, length: 1 }], { signal: controller.signal })).rejects.toBe(reason);
  });

  it('validates its options, naming the option and the value', async () => {
    await expect(readRanges(new MemorySource(data), [], { concurrency: 0 })).rejects.toThrow(
      'options.concurrency must be a positive integer (got 0)',
    );
  });
});
