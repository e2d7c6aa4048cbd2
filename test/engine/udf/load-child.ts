import { readFileSync } from 'node:fs';

import { loadUdf } from '../../../src/engine/udf/loader.js';
import { testContext } from './support.js';

/**
 * A worker stand-in for the race test: loads bundle `sha` into `cacheDir` (fetching it from
 * `bundleFile`), runs its map on `input` and prints the result as one JSON line.
 *   node --import tsx load-child.ts <cacheDir> <sha> <bundleFile> <input JSON>
 */
const [cacheDir, sha, bundleFile, input] = process.argv.slice(2) as [string, string, string, string];
const udf = await loadUdf(sha, { cacheDir, node: `child-${process.pid}`, fetchBundle: async () => new Uint8Array(readFileSync(bundleFile)) });
process.stdout.write(`${JSON.stringify(await udf.map(JSON.parse(input), testContext()))}\n`);
