// NDVI of every Landsat 8 scene in a folder, on one machine: the program a user already has.
// Run: npx tsx examples/ndvi-single.ts ['data/*_B4.TIF']
import { ndviFile, sceneName, splitByFile } from 'databox-mr';

/** NDVI of one scene (its red band B4 and near-infrared band B5) into out/<scene>_NDVI.tif. */
async function ndviOfScene(red: string) {
  const nir = red.replace(/_B4\.TIF$/i, '_B5.TIF');
  const out = `out/${sceneName(red)}_NDVI.tif`;
  const { stats } = await ndviFile({ red, nir, out });
  return { scene: sceneName(red), out, min: stats.min, mean: stats.sum / stats.valid, max: stats.max };
}

const reds = await splitByFile(process.argv[2] ?? '../shared/fixtures/real/landsat8/*_B4.TIF');
const results = [];
for (const red of reds) results.push(await ndviOfScene(red));
console.table(results);
