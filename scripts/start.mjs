// npm start: the main job. An embedded cluster (a Jobman, a Taskman and its workers on this machine)
// runs distributed NDVI over the real Landsat 8 crop in ../shared, plus every scene in ./data
// (*_B4.TIF with its *_B5.TIF) when there is one, writes one COG per scene to ./out and prints the
// summary.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const fixture = '../shared/fixtures/real/landsat8/LC08_L1TP_195025_20130707_20170503_01_T1';
const args = ['dist/cli/main.js', 'ndvi', '--red', `${fixture}_B4.TIF`, '--nir', `${fixture}_B5.TIF`, '--out', 'out'];
let data = [];
try {
  data = readdirSync(new URL('../data', import.meta.url)).filter((f) => /_B4\.TIF$/i.test(f));
} catch {
  // no ./data: the fixture alone
}
if (data.length > 0) args.push('--red', 'data/*_B4.TIF', '--nir', 'data/*_B5.TIF');
const run = spawnSync(process.execPath, [...args, ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
process.exit(run.status ?? 1);
