// The GeoTIFF fuzzer: a pool of worker threads reads seeded, mutated files; a watchdog ends any case
// that runs past the hang limit (the thread is terminated and a fresh one takes its place); every
// finding is written out with the command that replays it.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

import { caseRandom } from './prng.mjs';
import { mb, slope } from './measure.mjs';
import { loadSeeds, mutate } from './tiff-mutate.mjs';

const WORKER = new URL('./tiff-worker.mjs', import.meta.url);
/** Every this many cases a read goes through the file source instead of memory. */
const FILE_EVERY = 16;
/** Every this many cases (offset by one, so never a file case) decodes in a codec thread pool. */
const POOL_EVERY = 8;
/** Each thread reports its heap (after a GC) every this many cases. */
const MEMORY_EVERY = 1000;
/** Reproducers written per kind of finding; the rest are counted only. */
const MAX_WRITTEN = 200;
/**
 * Heap growth that counts as a leak: the slope of a thread's heap after GC over its samples after
 * warm-up, in bytes per case. Nothing the reader keeps between files should grow with their number
 * (its caches are bounded), so a true leak shows as a steady slope; a file's IFD alone is kilobytes,
 * so even a leak of one small object per file is well above 100 B/case, while V8's own drift (code,
 * feedback vectors) stays far below it. 100 B/case is 10 MB over 100,000 cases.
 * ArrayBuffers are reported but not judged: a hostile header may make one case allocate a block of up
 * to the reader's 512 MiB limit, freed when the case ends, which makes their samples noise.
 */
export const LEAK_BYTES_PER_CASE = 100;

/**
 * Runs `count` cases (or only `only`, one case number) with `workers` threads. Returns the counts, the
 * findings and the memory samples.
 */
export async function fuzzTiffs({ seed, count, workers, out, hangMs, only, log }) {
  const seeds = loadSeeds();
  if (seeds.length === 0) throw new Error('no seed files: fuzz/seeds is empty');
  const tmp = mkdtempSync(join(tmpdir(), 'databox-fuzz-tiff-'));
  const indices = only !== undefined ? [only] : Array.from({ length: count }, (_, i) => i);
  const counts = { cases: 0, read: 0, refused: 0, crash: 0, unnamed: 0, hang: 0 };
  const findings = [];
  const codes = new Map();
  const memory = []; // one series per thread incarnation
  const written = new Map();
  let next = 0;
  const t0 = performance.now();
  let lastReport = t0;

  const record = (kind, index, detail) => {
    counts[kind]++;
    const { data, what, seed: from } = mutate(seeds, caseRandom(seed, index));
    const finding = { kind, index, seedFile: from, what, ...detail };
    const n = (written.get(kind) ?? 0) + 1;
    written.set(kind, n);
    if (n <= MAX_WRITTEN) {
      mkdirSync(out, { recursive: true });
      const file = join(out, `tiff-${String(index).padStart(6, '0')}-${kind}.tif`);
      writeFileSync(file, data);
      finding.file = file;
      finding.repro = `node fuzz/tiff-read.mjs ${file}${index % FILE_EVERY === 0 ? ' --file' : index % POOL_EVERY === 1 ? ' --pool' : ''}`;
      finding.replay = `npm run fuzz -- --only tiff --seed ${seed} --case ${index}`;
      writeFileSync(join(out, `tiff-${String(index).padStart(6, '0')}-${kind}.json`), `${JSON.stringify(finding, null, 2)}\n`);
    }
    findings.push(finding);
  };

  const progress = () => {
    const now = performance.now();
    if (now - lastReport < 10_000) return;
    lastReport = now;
    const rate = counts.cases / ((now - t0) / 1000);
    log(`tiff: ${counts.cases}/${indices.length} cases, ${rate.toFixed(0)}/s, ${counts.crash} crashes, ${counts.hang} hangs, ${counts.unnamed} unnamed errors`);
  };

  /** One thread's loop: take the next case, run it under the watchdog; a dead or hung thread is replaced. */
  const lane = async () => {
    let worker;
    let series;
    let gone; // why the thread died between cases, if it did
    let last; // the case it answered last
    const start = async () => {
      worker = new Worker(WORKER, { workerData: { seed, tmp, fileEvery: FILE_EVERY, poolEvery: POOL_EVERY, memoryEvery: MEMORY_EVERY } });
      series = [];
      memory.push(series);
      gone = undefined;
      // Something thrown after a case answered (a stray rejection) kills the thread between cases:
      // it is blamed on the case before.
      worker.on('error', (err) => (gone = `uncaught in the thread after it answered: ${err?.stack ?? err}`));
      worker.on('exit', (code) => (gone ??= `the thread exited with code ${code} after it answered`));
      await new Promise((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
    };
    await start();
    try {
      while (next < indices.length) {
        if (gone !== undefined) {
          record('crash', last, { message: gone });
          await start();
        }
        const index = indices[next++];
        last = index;
        const outcome = await new Promise((resolve) => {
          const timer = setTimeout(() => resolve({ hang: true }), hangMs);
          const done = (value) => {
            clearTimeout(timer);
            worker.off('message', onMessage);
            worker.off('error', onError);
            worker.off('exit', onExit);
            resolve(value);
          };
          const onMessage = (msg) => done({ msg });
          const onError = (err) => done({ died: `uncaught in the thread: ${err?.stack ?? err}` });
          const onExit = (code) => done({ died: `the thread exited with code ${code}` });
          worker.on('message', onMessage);
          worker.on('error', onError);
          worker.on('exit', onExit);
          worker.postMessage({ index });
        });
        counts.cases++;
        if (outcome.msg !== undefined) {
          const m = outcome.msg;
          if (m.memory !== undefined) series.push({ ...m.memory, rss: process.memoryUsage().rss });
          counts[m.outcome]++;
          if (m.outcome === 'refused') codes.set(m.code, (codes.get(m.code) ?? 0) + 1);
          else if (m.outcome !== 'read') {
            counts[m.outcome]--; // record() counts it
            record(m.outcome, index, { error: m.error ?? m.code, message: m.message, stack: m.stack, ms: Math.round(m.ms) });
          }
        } else {
          // A hung thread is terminated (that stops even a tight loop); a dead one is gone already.
          record(outcome.hang ? 'hang' : 'crash', index, outcome.hang ? { message: `no answer within ${hangMs} ms` } : { message: outcome.died });
          worker.removeAllListeners('exit');
          await worker.terminate();
          await start();
        }
        progress();
      }
    } finally {
      await worker.terminate();
    }
  };

  try {
    await Promise.all(Array.from({ length: Math.min(workers, indices.length) }, lane));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const ms = performance.now() - t0;
  return { counts, codes: Object.fromEntries([...codes].sort((a, b) => b[1] - a[1])), findings, memory: judgeMemory(memory), ms, seeds: seeds.length };
}

/** Samples a thread needs for its slope to mean something: one of warm-up, then at least five. */
const MIN_SAMPLES = 6;

/**
 * The heap of each thread after GC, from its first sample after warm-up (the first sample: codecs
 * and WebAssembly loaded, caches filled) to its last. A thread that lived for fewer samples (it was
 * replaced after a finding) is too short to show a trend and is skipped.
 */
export function judgeMemory(series) {
  const threads = series
    .filter((s) => s.length >= MIN_SAMPLES)
    .map((all) => {
      const s = all.slice(1);
      const first = s[0];
      const last = s[s.length - 1];
      return {
        cases: last.cases - first.cases,
        firstHeapMb: mb(first.heapUsed),
        lastHeapMb: mb(last.heapUsed),
        bytesPerCase: Math.round(slope(s.map((x) => [x.cases, x.heapUsed]))),
        peakArrayBuffersMb: mb(Math.max(...all.map((x) => x.arrayBuffers + x.external))),
        rssFirstMb: mb(first.rss),
        rssLastMb: mb(last.rss),
      };
    });
  const leaking = threads.filter((t) => t.bytesPerCase > LEAK_BYTES_PER_CASE);
  return { threads, leaking: leaking.length, limitBytesPerCase: LEAK_BYTES_PER_CASE };
}


