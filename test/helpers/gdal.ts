import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** GDAL's Python bindings, when installed: the judge of what we write. */
export const GDAL_PYTHON = '/usr/bin/python3';

export const hasGdal: boolean = (() => {
  const r = spawnSync(GDAL_PYTHON, ['-c', 'import osgeo.gdal, osgeo_utils.samples.validate_cloud_optimized_geotiff'], {
    stdio: 'ignore',
  });
  return r.status === 0;
})();

export interface GdalProbe {
  width: number;
  height: number;
  bands: number;
  dtype: string;
  geotransform: number[] | null;
  epsg: number | null;
  wkt: string | null;
  nodata: number | 'nan' | 'inf' | '-inf' | null;
  block: [number, number];
  compression: string | null;
  layout: string | null;
  sha256: string[];
  overviews: [number, number][];
  overview_sha256: string[];
  cog_errors: string[];
  cog_warnings: string[];
}

const probeScript = fileURLToPath(new URL('./gdal_probe.py', import.meta.url));

/** What GDAL sees in a file, the COG validator's verdict (full check) included. */
export function gdalProbe(path: string, pixelsTo?: string): GdalProbe {
  const args = [probeScript, path, ...(pixelsTo ? ['--pixels-to', pixelsTo] : [])];
  return JSON.parse(execFileSync(GDAL_PYTHON, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })) as GdalProbe;
}

/** Runs a snippet with GDAL's Python bindings (`gdal` and `np` imported, exceptions on), for making inputs. */
export function gdalPython(code: string): void {
  const prelude = 'from osgeo import gdal\nimport numpy as np\ngdal.UseExceptions()\n';
  execFileSync(GDAL_PYTHON, ['-c', prelude + code], { stdio: ['ignore', 'ignore', 'inherit'] });
}
