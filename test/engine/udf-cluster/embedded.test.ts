import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';

import { connect } from 'databox-mr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { descendantsOf, fixture, isRunning, ownTmpdir } from './support.js';

/**
 * `connect()` with no URL, as a program calls it from the installed package (the built `dist/`): it
 * starts `databox up` (a Jobman, a Taskman and its workers) as child processes, and `close()` ends them.
 */
describe('an embedded cluster', () => {
  // The embedded cluster's state directory, and its processes' temp files, go in here.
  let tmp: ReturnType<typeof ownTmpdir>;
  beforeAll(() => {
    tmp = ownTmpdir('udf-embedded');
  });
  afterAll(() => tmp?.remove());

  it('starts on connect(), runs a map, and leaves no process or state directory behind after close()', async () => {
    const cluster = await connect(undefined, { workers: 1 });
    // The `databox up` child is the embedded cluster's root; everything else runs below it.
    const { child, home } = (cluster as unknown as { embedded: { child: ChildProcess; home: string } }).embedded;
    let processes: number[] = [];
    try {
      expect(child.pid).toBeGreaterThan(0);
      expect(isRunning(child.pid!)).toBe(true);
      expect(existsSync(home)).toBe(true);

      expect(await cluster.map<number>(fixture('map-only-udf.ts'), [1, 2, 3])).toEqual([3, 6, 9]);

      const [node, ...others] = await cluster.client.nodes();
      expect(others).toEqual([]);
      const workerPids = node!.workers.flatMap((w) => (w.pid === null ? [] : [w.pid]));
      expect(workerPids).toHaveLength(1);
      // The Taskman and its worker below `up`, where /proc can say so; the worker pid in any case.
      processes = [child.pid!, ...new Set([...descendantsOf(child.pid!), ...workerPids])];
      if (process.platform === 'linux') expect(processes.length).toBeGreaterThanOrEqual(3);
    } finally {
      await cluster.close();
    }
    expect(child.exitCode !== null || child.signalCode !== null).toBe(true);
    expect(processes.filter(isRunning)).toEqual([]);
    expect(existsSync(home)).toBe(false);
  });
});
