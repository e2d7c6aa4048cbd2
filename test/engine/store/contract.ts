import { describe } from 'vitest';

import { describeFailureContract } from './contract-failures.js';
import { describeLargeJobContract } from './contract-large.js';
import { describeLifecycleContract } from './contract-lifecycle.js';
import type { MakeStore } from './contract-support.js';

export type { MakeStore } from './contract-support.js';

/**
 * The behaviour every JobStore must show. Run it against each implementation (SQLite now, PostgreSQL
 * later): `makeStore(dir)` opens the store kept in `dir`, a fresh temp directory per test; opening the
 * same `dir` again must see the same data (a Jobman restart).
 */
export function describeJobStoreContract(name: string, makeStore: MakeStore): void {
  describe(`JobStore contract: ${name}`, () => {
    describeLifecycleContract(makeStore);
    describeFailureContract(makeStore);
    describeLargeJobContract(makeStore);
  });
}
