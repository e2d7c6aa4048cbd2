import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCli } from '../../helpers/cli.js';
import { fixture, ownTmpdir, UdfTestCluster } from './support.js';

/**
 * `databox run <udf-file> --inputs ...` as a user types it, a real CLI process against a Jobman and a
 * Taskman with two workers, real processes shared by the tests of this file.
 */

let c: UdfTestCluster;
let tmp: ReturnType<typeof ownTmpdir>;

beforeAll(async () => {
  tmp = ownTmpdir('udf-cli');
  c = await UdfTestCluster.start({ node: 'a', workers: 2 });
});
afterAll(async () => {
  await c?.close();
  tmp?.remove();
});

const inputs = [5, 150, 999, 0, 420];
const histogramOf = (...xs: number[]): number[] => {
  const h = new Array<number>(10).fill(0);
  for (const x of xs) h[Math.floor(x / 100)]!++;
  return h;
};
/** `databox run` against this file's cluster, its token from the environment as a user would set it. */
const databox = (...args: string[]) => runCli([...args, '--jobman', c.url], { env: { DATABOX_TOKEN: c.token }, timeoutMs: 30_000 });

describe('databox run <udf-file>', () => {
  it('writes the results, in input order, to --out as JSON (typed arrays as arrays)', async () => {
    const inFile = join(tmp.dir, 'inputs.json');
    const outFile = join(tmp.dir, 'results.json');
    writeFileSync(inFile, JSON.stringify(inputs));

    const run = await databox('run', fixture('stats-udf.ts'), '--inputs', inFile, '--out', outFile);
    expect(run.stderr).toMatch(/job \d+ succeeded: 5 of 5 subtasks succeeded, 0 failed/);
    expect(run.stderr).toContain(`results in ${outFile}`);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('');
    expect(JSON.parse(readFileSync(outFile, 'utf8'))).toEqual(inputs.map((x) => ({ count: 1, sum: x, min: x, max: x, histogram: histogramOf(x) })));
  });

  it('prints the summary with the reduced value under --reduce --json', async () => {
    const inFile = join(tmp.dir, 'inputs-reduce.json');
    writeFileSync(inFile, JSON.stringify(inputs));

    const run = await databox('run', fixture('stats-udf.ts'), '--inputs', inFile, '--reduce', '--json');
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const summary = JSON.parse(lines[0]!) as { id: number; state: string; subtasks: unknown; results: unknown };
    expect(summary).toMatchObject({ state: 'succeeded', subtasks: { total: 5, succeeded: 5, failed: 0 } });
    const { histogram, ...scalars } = summary.results as { histogram: Record<string, number> };
    expect(scalars).toEqual({ count: 5, sum: 1574, min: 0, max: 999 });
    expect(Object.values(histogram)).toEqual(histogramOf(...inputs));
  });

  it('prints typed arrays in the --json line as JSON arrays, as --out writes them', async () => {
    const inFile = join(tmp.dir, 'inputs-json.json');
    writeFileSync(inFile, JSON.stringify([5]));
    const run = await databox('run', fixture('stats-udf.ts'), '--inputs', inFile, '--json');
    expect(run.code).toBe(0);
    expect((JSON.parse(run.stdout) as { results: unknown }).results).toEqual([{ count: 1, sum: 5, min: 5, max: 5, histogram: histogramOf(5) }]);
  });

  it('refuses a bad --inputs file with one line on stderr and the usage error’s exit code, submitting nothing', async () => {
    const jobsBefore = await c.client.listJobs({ limit: 1000 });
    const notAnArray = join(tmp.dir, 'object.json');
    writeFileSync(notAnArray, '{"red": "B4.TIF"}');
    const notJson = join(tmp.dir, 'broken.json');
    writeFileSync(notJson, '[1, 2,');
    const missing = join(tmp.dir, 'missing.json');
    expect(existsSync(missing)).toBe(false);

    const cases: [string, RegExp][] = [
      [notAnArray, /^databox: --inputs \S+object\.json must hold a non-empty JSON array of inputs \(got object\)\n$/],
      [notJson, /^databox: --inputs \S+broken\.json: .*JSON.*\n$/],
      [missing, /^databox: --inputs \S+missing\.json: ENOENT: no such file or directory.*\n$/],
    ];
    for (const [file, message] of cases) {
      const run = await databox('run', fixture('stats-udf.ts'), '--inputs', file);
      // UsageError is a DataboxError, which src/cli/main.ts maps to exit code 1 (2 is for bugs).
      expect({ code: run.code, stderr: run.stderr, stdout: run.stdout }).toEqual({ code: 1, stderr: expect.stringMatching(message), stdout: '' });
    }
    expect(await c.client.listJobs({ limit: 1000 })).toEqual(jobsBefore);
  });
});

describe('databox run <udf-file> whose job fails', () => {
  it('ends with one error line, the same as a built-in run’s, naming the command that shows the errors', async () => {
    const inFile = join(tmp.dir, 'inputs.json');
    writeFileSync(inFile, JSON.stringify([1, 2, 3]));
    const run = await databox('run', fixture('throws-udf.ts'), '--inputs', inFile, '--retries', '0');
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    const id = Number(/^job (\d+) submitted: /m.exec(run.stderr)?.[1]);
    expect(run.stderr.split('\n').filter((line) => line.startsWith('databox:'))).toEqual([`databox: job ${id} failed: 3 of 3 subtasks failed; \`databox job ${id}\` shows the errors`]);
    // What failed is for `databox job` to say (here the UDF's RangeError; a worker killed for silence on a
    // loaded machine would do as well).
    const shown = await databox('job', String(id));
    expect(shown.stdout).toMatch(/^errors \(the first 3\):\n {2}input 0, attempt 1, on a: /m);
  });
});
