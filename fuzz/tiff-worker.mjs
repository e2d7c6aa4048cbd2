// A GeoTIFF fuzzer thread: makes case N from the run's seed (the same bytes the main thread would
// make), reads it, and answers how the reader took it. Every MEMORY_EVERY cases it collects garbage
// (when node runs with --expose-gc) and reports its heap, so the main thread can see it grow.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parentPort, threadId, workerData } from 'node:worker_threads';

import { CodecPool } from '../dist/index.js';
import { caseRandom } from './prng.mjs';
import { classify, MemorySource } from './tiff-read.mjs';
import { loadSeeds, mutate } from './tiff-mutate.mjs';

const { seed, tmp, fileEvery, poolEvery, memoryEvery } = workerData;
const seeds = loadSeeds();
// One codec thread, for the cases that decode in a pool: its errors are rebuilt after crossing threads.
const pool = new CodecPool(1);
let done = 0;

parentPort.on('message', async ({ index }) => {
  const { seed: from, data, what } = mutate(seeds, caseRandom(seed, index));
  const t0 = performance.now();
  let result;
  // Most cases read from memory; every `fileEvery`-th goes through the file source, whose reads
  // allocate by the length asked, so a hostile length is caught there too.
  if (index % fileEvery === 0) {
    const path = join(tmp, `case-${threadId}.tif`);
    writeFileSync(path, data);
    result = await classify(path, path);
    rmSync(path, { force: true });
  } else {
    const url = `mem://fuzz/${index}/${from}`;
    result = await classify(new MemorySource(data, url), url, index % poolEvery === 1 ? pool : undefined);
  }
  const ms = performance.now() - t0;
  let memory;
  if (++done % memoryEvery === 0) {
    globalThis.gc?.();
    const m = process.memoryUsage();
    memory = { cases: done, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers };
  }
  parentPort.postMessage({ index, seed: from, what, ms, memory, ...result });
});
parentPort.postMessage({ ready: true });
