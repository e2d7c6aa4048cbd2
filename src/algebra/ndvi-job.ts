import { randomBytes } from 'node:crypto';
import { mkdir, rm, rmdir } from 'node:fs/promises';
import { dirname } from 'node:path';

import type { JobView, SubmitJob } from '../engine/api/schemas.js';
import { jobResults, waitForSuccess } from '../engine/client/cluster.js';
import type { JobmanClient } from '../engine/client/index.js';
import { DataboxError } from '../errors.js';
import { GeoTiff, planPartRegions } from '../raster/index.js';
import { parseStorageUrl, removeObject } from '../storage/index.js';
import type { NdviDType } from './ndvi.js';
import { checkSameGrid } from './ndvi-file.js';
import type { CogAssembleInput, CogAssembleResult, NdviWindowInput, NdviWindowResult } from './ndvi-tasks.js';
import { sceneName, splitByFile } from './split.js';

export interface NdviJobOptions {
  /** Red bands: files, URLs or globs (local or s3://); each must match something. */
  red: string | readonly string[];
  /** Near-infrared bands, as `red`; paired with the red ones by scene name. */
  nir: string | readonly string[];
  /** A directory or URL prefix: each scene goes to `<out>/<scene>_NDVI.tif`; or a `.tif` for one scene. */
  out: string;
  /** @defaultValue 'float32' */
  dtype?: NdviDType;
  /** Output tile size. @defaultValue 512 */
  blockSize?: number;
  /** Tiles per side of a window subtask (a power of two). @defaultValue 4 (2048 pixels with 512 tiles) */
  windowTiles?: number;
  priority?: boolean;
  node?: string;
  onProgress?: (progress: NdviJobProgress) => void;
  signal?: AbortSignal;
}

export interface NdviJobProgress {
  scenes: number;
  scenesDone: number;
  subtasks: number;
  subtasksDone: number;
}

export interface NdviSceneSummary {
  scene: string;
  red: string;
  nir: string;
  out: string;
  width: number;
  height: number;
  bytes: number;
  valid: number;
  nodata: number;
  min: number | null;
  mean: number | null;
  max: number | null;
  /** Worker time spent on the scene: its windows and its assembly, in seconds. */
  workerSeconds: number;
}

export interface NdviJobResult {
  scenes: NdviSceneSummary[];
  /** The jobs: one of window subtasks per scene, then one assembly per scene. */
  jobs: number[];
  seconds: number;
}

/** An `--out` that names one file rather than a prefix. */
const ONE_FILE = /\.tiff?$/i;

type Scene = Pick<NdviSceneSummary, 'scene' | 'red' | 'nir' | 'out' | 'width' | 'height'>;

/** Red and NIR bands that do not pair up by scene name. */
export class ScenePairingError extends DataboxError {
  constructor(message: string) {
    super('ERR_SCENE_PAIRING', message);
  }
}

/**
 * NDVI of many scenes on a cluster, as jobs of built-in tasks: per scene, a job of one subtask per window
 * of `windowTiles` × `windowTiles` output tiles (`ndvi-window`: computes, compresses and writes its tiles
 * as a COG part), then a one-subtask job (`cog-assemble`: the scene's COG from its parts' compressed
 * tiles), queued at the head as soon as the scene's windows are done, so it overlaps later scenes. The
 * data stays where it is: workers read the bands from their URLs and write to `out`; only manifests and
 * statistics travel through the Jobman. Parts go under `<out>/.databox-parts/<run>/`, so `out` must be
 * reachable from every worker (S3, or a shared file system) when the cluster has several machines.
 */
export async function runNdviJob(client: JobmanClient, options: NdviJobOptions, planned?: NdviPlan): Promise<NdviJobResult> {
  const started = performance.now();
  const dtype = options.dtype ?? 'float32';
  const blockSize = options.blockSize ?? 512;
  const windowTiles = options.windowTiles ?? 4;
  const signal = options.signal;
  const scenes = (planned ?? (await planNdvi(options))).scenes;
  const run = randomBytes(6).toString('hex');
  const partsDir = `${outPrefix(options.out)}/.databox-parts/${run}`;
  const windows = scenes.map((s) =>
    planPartRegions(s.width, s.height, blockSize, windowTiles).map((region, i): NdviWindowInput => ({ scene: s.scene, red: s.red, nir: s.nir, dtype, blockSize, region, part: `${partsDir}/${s.scene}-${i}.part` })),
  );
  if (parseStorageUrl(options.out).kind === 'file') await mkdir(partsDir, { recursive: true });

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
  for (const w of windows) windowJobs.push((await client.submit({ ...common, task: 'builtin:ndvi-window', inputs: w as never }, signal)).id);
  const assembleJobs: number[] = [];
  const outcomes = await Promise.allSettled(
    scenes.map(async (s, k) => {
      await wait(windowJobs[k]!, k, 0);
      const parts = (await jobResults(client, windowJobs[k]!, signal)).map((r) => r.result as unknown as NdviWindowResult);
      const input: CogAssembleInput = { scene: s.scene, red: s.red, nir: s.nir, dtype, blockSize, out: s.out, parts: parts.map((r) => r.manifest) };
      const job = await client.submit({ ...common, priority: true, task: 'builtin:cog-assemble', inputs: [input as never] }, signal);
      assembleJobs[k] = job.id;
      await wait(job.id, k, windows[k]!.length);
      const [written] = (await jobResults(client, job.id, signal)).map((r) => r.result as unknown as CogAssembleResult);
      scenesDone++;
      report();
      return summarize(s, parts, written!);
    }),
  );
  const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
  if (failed !== undefined) {
    // Stop what still runs, and remove the parts nobody will assemble now.
    await Promise.all([...windowJobs, ...assembleJobs.filter((id) => id !== undefined)].map((id) => client.cancel(id).catch(() => undefined)));
    await Promise.all(windows.flat().map((w) => removeObject(w.part).catch(() => undefined)));
    throw failed.reason;
  }
  if (parseStorageUrl(options.out).kind === 'file') {
    // The parts are gone (each assembly deletes its own); their directories go too, `.databox-parts` if empty.
    await rm(partsDir, { recursive: true, force: true });
    await rmdir(dirname(partsDir)).catch(() => undefined);
  }
  return {
    scenes: outcomes.map((o) => (o as PromiseFulfilledResult<NdviSceneSummary>).value),
    jobs: [...windowJobs, ...assembleJobs],
    seconds: (performance.now() - started) / 1000,
  };
}

/** A scene's summary from its windows' statistics and its assembly. */
function summarize(s: Scene, parts: readonly NdviWindowResult[], written: CogAssembleResult): NdviSceneSummary {
  let valid = 0;
  let nodata = 0;
  let sum = 0;
  let min: number | null = null;
  let max: number | null = null;
  let ms = written.ms;
  for (const p of parts) {
    valid += p.stats.valid;
    nodata += p.stats.nodata;
    sum += p.stats.sum;
    if (p.stats.min !== null) min = min === null ? p.stats.min : Math.min(min, p.stats.min);
    if (p.stats.max !== null) max = max === null ? p.stats.max : Math.max(max, p.stats.max);
    ms += p.ms;
  }
  const { scene, red, nir, out, width, height } = s;
  return { scene, red, nir, out, width, height, bytes: written.bytes, valid, nodata, min, mean: valid > 0 ? sum / valid : null, max, workerSeconds: ms / 1000 };
}

/** The scenes of an NDVI job, paired and checked; `runNdviJob` plans them itself unless given a plan. */
export interface NdviPlan {
  scenes: readonly Readonly<Scene>[];
}

/**
 * Pairs red and NIR files by scene name and checks each pair's grids from their headers, before any
 * cluster is involved: a job that cannot work fails at once.
 */
export async function planNdvi(options: Pick<NdviJobOptions, 'red' | 'nir' | 'out' | 'signal'>): Promise<NdviPlan> {
  const expand = async (patterns: string | readonly string[]): Promise<string[]> => (await Promise.all([patterns].flat().map((p) => splitByFile(p)))).flat();
  const [reds, nirs] = await Promise.all([expand(options.red), expand(options.nir)]);
  const nirByScene = new Map(nirs.map((n) => [sceneName(n), n]));
  const single = ONE_FILE.test(options.out);
  if (single && reds.length > 1) throw new DataboxError('ERR_OPTIONS', `--out ${options.out} names one file, but ${reds.length} scenes match ${[options.red].flat().join(' ')}; give a directory or URL prefix`);
  const scenes: Scene[] = [];
  const seen = new Set<string>();
  for (const red of reds) {
    const scene = sceneName(red);
    if (seen.has(scene)) throw new ScenePairingError(`Two red bands have the scene name ${scene} (the file name without its band suffix); each scene needs one`);
    seen.add(scene);
    const nir = nirByScene.get(scene);
    if (nir === undefined) throw new ScenePairingError(`No NIR band for scene ${scene} (red ${red}) among the ${nirs.length} files of ${[options.nir].flat().join(' ')}`);
    if (nir === red) throw new ScenePairingError(`Scene ${scene}: the red and NIR bands are the same file ${red}`);
    scenes.push({ scene, red, nir, out: single ? options.out : `${outPrefix(options.out)}/${scene}_NDVI.tif`, width: 0, height: 0 });
  }
  // Only headers are read here (a few range requests each), eight scenes at a time: a pair that cannot
  // make an NDVI fails now, not in a subtask on every retry.
  const open = options.signal ? { signal: options.signal } : {};
  for (let i = 0; i < scenes.length; i += 8) {
    await Promise.all(
      scenes.slice(i, i + 8).map(async (s) => {
        const bands = await Promise.all([GeoTiff.open(s.red, open), GeoTiff.open(s.nir, open)]);
        try {
          checkSameGrid(...bands);
          s.width = bands[0].width;
          s.height = bands[0].height;
        } finally {
          await Promise.all(bands.map((b) => b.close()));
        }
      }),
    );
  }
  return { scenes };
}

/** `out` as a prefix without a trailing slash; a local one made absolute, so workers in other directories agree. */
function outPrefix(out: string): string {
  const single = ONE_FILE.test(out);
  const location = parseStorageUrl(out);
  if (location.kind === 'file') {
    const path = single ? location.path.replace(/\/[^/]*$/, '') : location.path;
    return path.replace(/\/+$/, '');
  }
  const prefix = single ? out.replace(/\/[^/]*$/, '') : out;
  return prefix.replace(/\/+$/, '');
}

function doneOf(job: JobView): number {
  return job.counts.succeeded + job.counts.failed + job.counts.cancelled;
}
