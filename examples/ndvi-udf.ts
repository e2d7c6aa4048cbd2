// NDVI of every Landsat 8 scene in a folder, across a DataboxMR cluster: ndvi-single.ts as an RS-UDF.
// Run: npx tsx examples/ndvi-udf.ts ['data/*_B4.TIF']
import { pathToFileURL } from 'node:url';
import { connect, defineUdf, ndviFile, sceneName, splitByFile } from 'databox-mr';

/** NDVI of one scene (its red band B4 and near-infrared band B5) into out/<scene>_NDVI.tif. */
async function ndviOfScene(red: string) {
  const nir = red.replace(/_B4\.TIF$/i, '_B5.TIF');
  const out = `out/${sceneName(red)}_NDVI.tif`;
  const { stats } = await ndviFile({ red, nir, out });
  return { scene: sceneName(red), out, min: stats.min, mean: stats.sum / stats.valid, max: stats.max };
}

export default defineUdf({ map: ndviOfScene });

// Run as a program, not when a worker loads this module for its UDF.
if (import.meta.url === pathToFileURL(process.argv[1]!).href) {
  const reds = await splitByFile(process.argv[2] ?? '../shared/fixtures/real/landsat8/*_B4.TIF');
  const cluster = await connect();
  const results = await cluster.map(import.meta.url, reds);
  await cluster.close();
  console.table(results);
}
