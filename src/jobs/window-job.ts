import { randomBytes } from 'node:crypto';
import { rm, rmdir } from 'node:fs/promises';
import { dirname } from 'node:path';

import { jobResults, waitForSuccess, type JobmanClient, type JobView, type SubmitJob } from '../engine/index.js';
import { planPartRegions } from '../raster/index.js';
import { checkWritable, ensureDirectory, parseStorageUrl, removeObject } from '../storage/index.js';
import { OpRasters, checkOp, mergeStats, opSources, type Op, type OutputSpec, type ValueStats } from '../algebra/index.js';
import type { CogAssembleInput, CogAssembleResult, WindowTaskInput, RasterWindowResult } from './window-tasks.js';

/** One output file of a window job: an op over one scene's grid. */
export interface WindowScene {
  scene: string;
  op: Op;
  /** URL of the COG to write. */
  out: string;
  width: number;
  height: number;
}

export interface WindowJobOptions {
  scenes: readonly WindowScene[];
  output: OutputSpec;
  /** Where the parts go while the windows run: reachable from every worker. */
  partsPrefix: string;
  /** Tiles per side of a window subtask (a power of two). @defaultValue 4 (2048 pixels with 512 tiles) */
  windowTiles?: number;
  priority?: boolean;
  node?: string;
  onProgress?: (progress: WindowJobProgress) => void;
  signal?: AbortSignal;
}

export interface WindowJobProgress {
  scenes: number;
  scenesDone: number;
  subtasks: number;
  subtasksDone: number;
}

export interface WindowSceneResult {
  scene: string;
  out: string;
  width: number;
  height: number;
  /** Size of the COG written. */
  bytes: number;
  /** Statistics of the values written, before any scaling. */
  stats: ValueStats;
  mean: number | null;
  /** Bytes the window subtasks read from storage: what crossed the network for the inputs. */
  bytesRead: number;
  /** Worker time spent on the scene: its windows and its assembly, in seconds. */
  workerSeconds: number;
}

export interface WindowJobResult {
  scenes: WindowSceneResult[];
  /** The jobs: one of window subtasks per scene, then one assembly per scene. */
  jobs: number[];
  seconds: number;
}

/**
 * Opens a scene's rasters to check the op and their grids, and returns the grid's size: a job that
 * cannot work fails here, before any subtask, not in a subtask on every retry: the op, the output's
 * place (see `checkWritable`) and the inputs' headers.
 * `options.implicit` names the sources given without a band number, which must be single-band files.
 */
export async function planScene(scene: string, op: Op, out: string, signal?: AbortSignal, options: { implicit?: ReadonlySet<string> } = {}): Promise<WindowScene> {
  checkOp(op);
  await checkWritable(out, signal ? { signal } : {});
  const rasters = await OpRasters.open(op, signal, options);
  try {
    return { scene, op, out, width: rasters.grid.width, height: rasters.grid.height };
  } finally {
    await rasters.close();
  }
}

/**
 * Runs map-algebra ops on a cluster as jobs of built-in tasks: per scene, a job of one `raster-window`
 * subtask per window of `windowTiles` × `windowTiles` output tiles (each computes, compresses and writes
 * its tiles as a COG part), then a one-subtask `cog-assemble` job (the scene's COG from its parts'
 * compressed tiles), queued at the head as soon as the scene's windows are done, so it overlaps later
 * scenes. The data stays where it is: workers read the inputs from their URLs and write to `out`; only
 * manifests and statistics travel through the Jobman.
 */
export async function runWindowJob(client: JobmanClient, options: WindowJobOptions): Promise<WindowJobResult> {
  const started = performance.now();
  const { scenes, output, signal } = options;
  const windowTiles = options.windowTiles ?? 4;
  const partsDir = `${options.partsPrefix.replace(/\/+$/, '')}/${randomBytes(6).toString('hex')}`;
  const windows = scenes.map((s) =>
    planPartRegions(s.width, s.height, output.blockSize, windowTiles).map((region, i): WindowTaskInput => ({ scene: s.scene, op: s.op, output, region, part: `${partsDir}/${s.scene}-${i}.part` })),
  );
  const local = parseStorageUrl(partsDir).kind === 'file';
  if (local) await ensureDirectory(partsDir);

  const total = windows.reduce((n, w) => n + w.length, 0) + scenes.length;
  const done = scenes.map(() => 0);
  let scenesDone = 0;
  const report = (): void => options.onProgress?.({ scenes: scenes.length, scenesDone, subtasks: total, subtasksDone: done.reduce((a, b) => a + b, 0) });
  const common: Omit<SubmitJob, 'task' | 'inputs'> = { ...(options.priority ? { priority: true } : {}), ...(options.node !== undefined ? { node: options.node } : {}) };
  const wait = (id: number, k: number, base: number): Promise<unknown> =>
    waitForSuccess(client, id, {
      ...(signal ? { signal } : {}),
      onProgress: (j) => {
        done[k] = base + doneOf(j);
        report();
      },
    });

  // A job of window subtasks per scene, queued in scene order; each scene's assembly is queued at the
  // head as soon as its windows are done, so assemblies overlap the windows of the scenes after.
  const windowJobs: number[] = [];
  for (const w of windows) windowJobs.push((await client.submit({ ...common, task: 'builtin:raster-window', inputs: w as never }, signal)).id);
  const assembleJobs: number[] = [];
  const outcomes = await Promise.allSettled(
    scenes.map(async (s, k): Promise<WindowSceneResult> => {
      await wait(windowJobs[k]!, k, 0);
      const parts = (await jobResults(client, windowJobs[k]!, signal)).map((r) => r.result as unknown as RasterWindowResult);
      const input: CogAssembleInput = { scene: s.scene, grid: opSources(s.op)[0]!.url, output, out: s.out, parts: parts.map((r) => r.manifest) };
      const job = await client.submit({ ...common, priority: true, task: 'builtin:cog-assemble', inputs: [input as never] }, signal);
      assembleJobs[k] = job.id;
      await wait(job.id, k, windows[k]!.length);
      const [written] = (await jobResults(client, job.id, signal)).map((r) => r.result as unknown as CogAssembleResult);
      scenesDone++;
      report();
      const stats = mergeStats(parts.map((p) => p.stats));
      const ms = parts.reduce((t, p) => t + p.ms, written!.ms);
      const bytesRead = parts.reduce((t, p) => t + p.bytesRead, 0);
      return { scene: s.scene, out: s.out, width: s.width, height: s.height, bytes: written!.bytes, stats, mean: stats.valid > 0 ? stats.sum / stats.valid : null, bytesRead, workerSeconds: ms / 1000 };
    }),
  );
  const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failed !== undefined) {
    // Stop what still runs, and remove the parts nobody will assemble now.
    await Promise.all([...windowJobs, ...assembleJobs.filter((id) => id !== undefined)].map((id) => client.cancel(id).catch(() => undefined)));
    await Promise.all(windows.flat().map((w) => removeObject(w.part).catch(() => undefined)));
    if (local) await removeLocalParts(partsDir);
    throw failed.reason;
  }
  // The parts are gone (each assembly deletes its own); their directories go too.
  if (local) await removeLocalParts(partsDir);
  return {
    scenes: outcomes.map((o) => (o as PromiseFulfilledResult<WindowSceneResult>).value),
    jobs: [...windowJobs, ...assembleJobs],
    seconds: (performance.now() - started) / 1000,
  };
}

/** Removes a run's parts directory, and `.databox-parts` above it when nothing else is left there. */
async function removeLocalParts(partsDir: string): Promise<void> {
  await rm(partsDir, { recursive: true, force: true });
  await rmdir(dirname(partsDir)).catch(() => undefined);
}

function doneOf(job: JobView): number {
  return job.counts.succeeded + job.counts.failed + job.counts.cancelled;
}

/** An `--out` that names one file rather than a prefix. */
export const ONE_FILE = /\.tiff?$/i;

/**
 * `out` as a prefix without a trailing slash (the directory of a one-file `out`); a local one made
 * absolute, so workers in other directories agree.
 */
export function outPrefix(out: string): string {
  const single = ONE_FILE.test(out);
  const location = parseStorageUrl(out);
  if (location.kind === 'file') {
    const path = single ? location.path.replace(/\/[^/]*$/, '') : location.path;
    return path.replace(/\/+$/, '') || '/';
  }
  const prefix = single ? out.replace(/\/[^/]*$/, '') : out;
  return prefix.replace(/\/+$/, '');
}

/** Where a job writing under `out` keeps its parts: `<out prefix>/.databox-parts`. */
export function partsPrefixOf(out: string): string {
  return `${outPrefix(out).replace(/\/$/, '')}/.databox-parts`;
}
