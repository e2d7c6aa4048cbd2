import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { fixture, ownTmpdir, UdfTestCluster } from '../engine/udf-cluster/support.js';
import { runCli } from '../helpers/cli.js';

/** `databox run <udf-file>` whose job fails: a real CLI process against a Jobman and a Taskman. */

let c: UdfTestCluster;
let tmp: ReturnType<typeof ownTmpdir>;

beforeAll(async () => {
  tmp = ownTmpdir('udf-run-cli');
  c = await UdfTestCluster.start({ node: 'a', workers: 2 });
});
afterAll(async () => {
  await c?.close();
  tmp?.remove();
});

const databox = (...args: string[]) => runCli([...args, '--jobman', c.url], { env: { DATABOX_TOKEN: c.token }, timeoutMs: 30_000 });

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
