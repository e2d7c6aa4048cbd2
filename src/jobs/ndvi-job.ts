import type { JobmanClient } from '../engine/index.js';
import { DataboxError } from '../errors.js';
import { GeoTiff } from '../raster/index.js';
import { checkWritable } from '../storage/index.js';
import { checkSameGrid, ndviOp, ndviOutput, type NdviDType } from '../algebra/index.js';
import { sceneName, splitByFile } from './inputs.js';
import { ONE_FILE, outPrefix, partsPrefixOf, runWindowJob } from './window-job.js';

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
  /** Bytes the window subtasks read from storage. */
  bytesRead: number;
  /** Worker time spent on the scene: its windows and its assembly, in seconds. */
  workerSeconds: number;
}

export interface NdviJobResult {
  scenes: NdviSceneSummary[];
  /** The jobs: one of window subtasks per scene, then one assembly per scene. */
  jobs: number[];
  seconds: number;
}

type Scene = Pick<NdviSceneSummary, 'scene' | 'red' | 'nir' | 'out' | 'width' | 'height'>;

/** Red and NIR bands that do not pair up by scene name. */
export class ScenePairingError extends DataboxError {
  constructor(message: string) {
    super('ERR_SCENE_PAIRING', message);
  }
}

/**
 * NDVI of many scenes on a cluster: the window job of `runWindowJob` with the NDVI expression, one
 * window subtask per 4 × 4 output tiles and one assembly per scene. Parts go under
 * `<out>/.databox-parts/<run>/`, so `out` must be reachable from every worker (S3, or a shared file
 * system) when the cluster has several machines.
 */
export async function runNdviJob(client: JobmanClient, options: NdviJobOptions, planned?: NdviPlan): Promise<NdviJobResult> {
  const scenes = (planned ?? (await planNdvi(options))).scenes;
  const result = await runWindowJob(client, {
    scenes: scenes.map((s) => ({ scene: s.scene, op: ndviOp(s.red, s.nir), out: s.out, width: s.width, height: s.height })),
    output: ndviOutput(options.dtype ?? 'float32', options.blockSize ?? 512),
    partsPrefix: partsPrefixOf(options.out),
    ...(options.windowTiles !== undefined ? { windowTiles: options.windowTiles } : {}),
    ...(options.priority ? { priority: true } : {}),
    ...(options.node !== undefined ? { node: options.node } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return {
    scenes: result.scenes.map((r, k) => {
      const { scene, red, nir, out, width, height } = scenes[k]!;
      const { valid, nodata, min, max } = r.stats;
      return { scene, red, nir, out, width, height, bytes: r.bytes, valid, nodata, min, mean: r.mean, max, bytesRead: r.bytesRead, workerSeconds: r.workerSeconds };
    }),
    jobs: result.jobs,
    seconds: result.seconds,
  };
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
  for (const [option, patterns, band] of [['--red', options.red, 'red (Landsat 8/9: B4)'], ['--nir', options.nir, 'near-infrared (Landsat 8/9: B5)']] as const) {
    if ([patterns].flat().length === 0) throw new DataboxError('ERR_OPTIONS', `${option} is missing: give the ${band} bands, as files, URLs or globs`);
  }
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
  // Every folder (or bucket) the outputs go to takes a file, before a cluster starts on them.
  const outDirs = new Map(scenes.map((s) => [s.out.replace(/[^/]*$/, ''), s.out]));
  for (const out of outDirs.values()) await checkWritable(out, options.signal ? { signal: options.signal } : {});
  // Only headers are read here (a few range requests each), eight scenes at a time: a pair that cannot
  // make an NDVI fails now, not in a subtask on every retry.
  const open = options.signal ? { signal: options.signal } : {};
  for (let i = 0; i < scenes.length; i += 8) {
    await Promise.all(
      scenes.slice(i, i + 8).map(async (s) => {
        const bands = await Promise.all([GeoTiff.open(s.red, open), GeoTiff.open(s.nir, open)]);
        try {
          checkSameGrid([{ name: 'Red', raster: bands[0] }, { name: 'NIR', raster: bands[1] }], 'NDVI');
          for (const b of bands) {
            if (b.bands > 1) throw new DataboxError('ERR_OPTIONS', `${b.url} has ${b.bands} bands; databox ndvi reads single-band files (for a band of a multi-band file, use databox calc with red=<url>#N and nir=<url>#N)`);
          }
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
