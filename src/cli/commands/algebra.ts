import { basename } from 'node:path';

import type { Command } from 'commander';

import {
  FOCAL_OPS,
  FOCAL_SHAPES,
  OCX_ALGORITHMS,
  OCX_BLUES,
  OCX_COEFFICIENTS,
  OUTPUT_DTYPES,
  opSources,
  outputSpec,
  parseCoefficients,
  type BandSource,
  type FocalOp,
  type FocalShape,
  type OcxAlgorithm,
  type Op,
} from '../../algebra/index.js';
import { ONE_FILE, partsPrefixOf, planScene, runWindowJob, type WindowJobResult } from '../../jobs/index.js';
import {
  absoluteUrl,
  closeClusterRun,
  clusterOptions,
  collect,
  formatSceneSummary,
  jobsProgressBar,
  placement,
  runTimings,
  windowOptions,
  withCluster,
  type ClusterFlags,
  type ClusterRun,
  type WindowFlags,
} from '../cluster-run.js';
import { UsageError, type CliContext, type CommandIo } from '../context.js';
import { choiceOption, intOption, numberOption } from '../options.js';

/**
 * `databox calc`, `databox chlorophyll` and `databox focal`: one op over one grid of rasters into one
 * COG, run as a window job (see src/algebra/window-job.ts) on an embedded or a running cluster.
 */

interface OutputFlags extends ClusterFlags, WindowFlags {
  out: string;
  dtype: string;
  nodata?: number;
}

const DTYPE_NAMES = Object.keys(OUTPUT_DTYPES);

/** The output options; `--out` unless the command takes the output as an argument. */
function outputOptions(command: Command, outFlag = true): Command {
  if (outFlag) command.requiredOption('--out <url>', 'the COG to write: a .tif path, or an s3:// or file:// URL ending in .tif');
  return clusterOptions(
    windowOptions(
      command
        .option('--dtype <type>', `output type: ${DTYPE_NAMES.join(', ')}; integer types round to nearest`, choiceOption('--dtype', DTYPE_NAMES), 'float32')
        .option('--nodata <value>', 'nodata value of an integer output (default: the type’s minimum if signed, maximum if unsigned; floats use NaN)', numberOption('--nodata')),
    ),
  );
}

function defineCalc(command: Command, context: CliContext): void {
  outputOptions(
    command
      .requiredOption('--expr <expression>', 'e.g. "(nir - red) / (nir + red)": + - * / ^, < <= > >= == !=, and or not, where(c, a, b), abs sqrt log log10 exp min max clamp, numbers, band names')
      .requiredOption('--band <name=url>', 'a named input: NAME=<url>, or NAME=<url>#N for band N (from 1) of a multi-band file; repeatable', collect),
  ).action(async (flags: OutputFlags & { expr: string; band: string[] }) => {
    const bands = flags.band.map(parseBandFlag);
    const op: Op = { type: 'calc', expr: flags.expr, bands: bands.map((b) => b.source) };
    const names = op.bands.map((b) => b.name);
    const twice = names.find((n, i) => names.indexOf(n) !== i);
    if (twice !== undefined) throw new UsageError(`--band ${twice} is given twice; each band name names one input`);
    await runOne('calc', op, flags, context, implicitNames(bands));
  });
}

function defineChlorophyll(command: Command, context: CliContext): void {
  outputOptions(
    command
      .requiredOption('--algorithm <name>', `${OCX_ALGORITHMS.join(' or ')}: oc2 takes one --blue, oc3 two`, choiceOption('--algorithm', OCX_ALGORITHMS))
      .requiredOption('--coefficients <set>', `${Object.keys(OCX_COEFFICIENTS).join(', ')}, or custom:a0,a1,a2,a3,a4`)
      .requiredOption('--blue <url>', 'a blue reflectance band (Landsat 8: B2 for oc2; B1 and B2 for oc3), <url>#N for band N of a multi-band file; repeatable, in the order of the set', collect)
      .requiredOption('--green <url>', 'the green reflectance band (Landsat 8: B3), <url>#N for band N of a multi-band file')
      .option('--scale <k>', 'reflectance = value × scale + offset, for bands stored as scaled integers (Landsat Collection 2 surface reflectance: 0.0000275)', numberOption('--scale'), 1)
      .option('--offset <c>', 'see --scale (Landsat Collection 2 surface reflectance: -0.2)', numberOption('--offset'), 0),
  ).action(async (flags: OutputFlags & { algorithm: OcxAlgorithm; coefficients: string; blue: string[]; green: string; scale: number; offset: number }) => {
    parseCoefficients(flags.coefficients, flags.algorithm);
    const want = OCX_BLUES[flags.algorithm];
    if (flags.blue.length !== want) throw new UsageError(`--algorithm ${flags.algorithm} takes ${want} --blue band${want > 1 ? 's' : ''} (got ${flags.blue.length})`);
    if (!(flags.scale > 0)) throw new UsageError(`--scale must be positive (got ${flags.scale})`);
    const blues = flags.blue.map((u, i) => bandOf(want > 1 ? `blue ${i + 1}` : 'blue', u, '--blue '));
    const green = bandOf('green', flags.green, '--green ');
    const op: Op = {
      type: 'chlorophyll',
      algorithm: flags.algorithm,
      coefficients: flags.coefficients,
      blues: blues.map((b) => b.source),
      green: green.source,
      scale: flags.scale,
      offset: flags.offset,
    };
    await runOne('chlorophyll', op, flags, context, implicitNames([...blues, green]));
  });
}

function defineFocal(command: Command, context: CliContext): void {
  outputOptions(
    command
      .argument('<in>', 'the raster to filter (a path or URL)')
      .argument('<out>', 'the COG to write: a .tif path, or an s3:// or file:// URL ending in .tif')
      .requiredOption('--op <name>', `${FOCAL_OPS.join(', ')} (median: an even count gives the mean of the two middle values)`, choiceOption('--op', FOCAL_OPS))
      .requiredOption('--radius <r>', 'window radius in pixels: a square of 2r+1 pixels a side, or a circle of radius r', intOption('--radius', 1, 64))
      .option('--shape <shape>', FOCAL_SHAPES.join(' or '), choiceOption('--shape', FOCAL_SHAPES), 'square')
      .option('--band <n>', 'band of <in>, from 1', intOption('--band', 1, 65535), 1),
    false,
  ).action(async (input: string, out: string, flags: Omit<OutputFlags, 'out'> & { op: FocalOp; radius: number; shape: FocalShape; band: number }) => {
    const op: Op = { type: 'focal', op: flags.op, radius: flags.radius, shape: flags.shape, input: { name: 'input', url: absoluteUrl(input), band: flags.band - 1 } };
    await runOne('focal', op, { ...flags, out }, context);
  });
}

export const commands = { calc: defineCalc, chlorophyll: defineChlorophyll, focal: defineFocal };
export const close = closeClusterRun;

/** Plans the op (headers only: grids, bands, the expression), then runs it as a window job. */
async function runOne(label: string, op: Op, flags: OutputFlags, { signal, io }: CliContext, implicit: ReadonlySet<string> = new Set()): Promise<void> {
  if (!ONE_FILE.test(flags.out)) throw new UsageError(`--out ${flags.out} must name a .tif file`);
  const dtype = OUTPUT_DTYPES[flags.dtype]!;
  if (flags.nodata !== undefined && (dtype === 'Float32' || dtype === 'Float64')) throw new UsageError(`--nodata applies to integer outputs; --dtype ${flags.dtype} writes NaN for nodata`);
  const output = outputSpec(dtype, { blockSize: flags.blockSize, ...(flags.nodata !== undefined ? { nodata: flags.nodata } : {}) });
  const out = absoluteUrl(flags.out);
  const scene = await planScene(basename(out).replace(ONE_FILE, ''), op, out, signal, { implicit });
  const run = await withCluster(flags, signal, async (cluster) => {
    const bar = jobsProgressBar(io.stderr, label);
    try {
      return await runWindowJob(cluster.client, { scenes: [scene], output, partsPrefix: partsPrefixOf(out), windowTiles: flags.windowTiles, ...placement(flags), onProgress: bar.update, signal });
    } finally {
      bar.stop();
    }
  }, { read: opSources(op).map((s) => s.url), write: [out] });
  report(run, flags, dtype, io);
}

function report(run: ClusterRun<WindowJobResult>, flags: OutputFlags, dtype: string, io: CommandIo): void {
  const r = run.value;
  const rows = r.scenes.map((s) => ({ ...s, min: s.stats.min, max: s.stats.max }));
  io.stdout.write(flags.json ? `${JSON.stringify({ ...r, ...runTimings(run) })}\n` : formatSceneSummary(rows, r.seconds, r.jobs, run));
  const clipped = r.scenes.reduce((n, s) => n + s.stats.outOfRange, 0);
  if (clipped > 0) io.stderr.write(`databox: warning: ${clipped} value${clipped === 1 ? '' : 's'} outside the range of ${dtype} were written as nodata\n`);
}

/** A band named on the command line; `implicit` when no `#N` was given, so its file must have one band. */
interface BandFlag {
  source: BandSource;
  implicit: boolean;
}

/** `NAME=<url>` or `NAME=<url>#N`. */
export function parseBandFlag(text: string): BandFlag {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.+)$/.exec(text);
  if (m === null) throw new UsageError(`--band ${text} must be NAME=<url> or NAME=<url>#N, NAME a letter or _ then letters, digits or _`);
  return bandOf(m[1]!, m[2]!, `--band ${m[1]}=`);
}

/** `<url>` or `<url>#N` (N from 1) as band `name`. */
function bandOf(name: string, text: string, flag: string): BandFlag {
  const m = /^(.+?)(?:#(\d+))?$/.exec(text)!;
  const band = m[2] === undefined ? 1 : Number(m[2]);
  if (band < 1) throw new UsageError(`${flag}${text}: bands count from 1 (got #${m[2]})`);
  return { source: { name, url: absoluteUrl(m[1]!), band: band - 1 }, implicit: m[2] === undefined };
}

function implicitNames(bands: readonly BandFlag[]): Set<string> {
  return new Set(bands.filter((b) => b.implicit).map((b) => b.source.name));
}
