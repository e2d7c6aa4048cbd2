import { join } from 'node:path';

import { SqliteJobStore } from '../../../src/engine/store/sqlite/sqlite-store.js';
import { describeJobStoreContract } from './contract.js';

describeJobStoreContract('SQLite', (dir) => SqliteJobStore.open({ path: join(dir, 'databox.db') }));
