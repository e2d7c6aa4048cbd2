import type { Command } from 'commander';

import { NDVI_DTYPES, type NdviDType } from '../../algebra/index.js';
import { planNdvi, runNdviJob } from '../../jobs/index.js';
import { closeClusterRun, clusterOptions, collect, formatSceneSummary, jobsProgressBar, placement, runTimings, windowOptions, withCluster, type ClusterFlags, type WindowFlags } from '../cluster-run.js';
import type { CliContext } from '../context.js';
import { choiceOption } from '../options.js';

interface NdviFlags extends ClusterFlags, WindowFlags {
  red: string[];
  nir: string[];
  out: string;
  dtype: NdviDType;
}

/**
 * `databox ndvi --red <url|glob> --nir <url|glob> --out <url-prefix>`: NDVI of many scenes, distributed.
 * On an embedded cluster by default, or on a running one with `--jobman`.
 */
function defineNdvi(ndvi: Command, { signal, io }: CliContext): void {
  const command = ndvi
    .requiredOption('--red <url|glob>', 'red bands (Landsat 8/9: B4): a file, a URL, or a glob, local or s3://; repeatable', collect)
    .requiredOption('--nir <url|glob>', 'near-infrared bands (Landsat 8/9: B5), paired with the red ones by scene name (the file name without its band suffix); repeatable', collect)
    .requiredOption('--out <url-prefix>', 'directory or URL prefix: each scene goes to <out>/<scene>_NDVI.tif (a .tif name for a single scene)')
    .option('--dtype <type>', 'float32 (nodata NaN) or int16 (NDVI × 10000, nodata -32768)', choiceOption('--dtype', NDVI_DTYPES), 'float32');
  clusterOptions(windowOptions(command)).action(async (flags: NdviFlags) => {
    const plan = await planNdvi({ red: flags.red, nir: flags.nir, out: flags.out, signal });
    const run = await withCluster(flags, signal, async (cluster) => {
      const bar = jobsProgressBar(io.stderr, 'ndvi');
      try {
        return await runNdviJob(
          cluster.client,
          { red: flags.red, nir: flags.nir, out: flags.out, dtype: flags.dtype, blockSize: flags.blockSize, windowTiles: flags.windowTiles, ...placement(flags), onProgress: bar.update, signal },
          plan,
        );
      } finally {
        bar.stop();
      }
    }, { read: plan.scenes.flatMap((s) => [s.red, s.nir]), write: plan.scenes.map((s) => s.out) });
    const result = run.value;
    io.stdout.write(flags.json ? `${JSON.stringify({ ...result, ...runTimings(run) })}\n` : formatSceneSummary(result.scenes, result.seconds, result.jobs, run));
  });
}

export const commands = { ndvi: defineNdvi };
export const close = closeClusterRun;
