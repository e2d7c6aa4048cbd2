import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { JobStore } from './job-store.js';
import type { SqliteStoreOptions } from './options.js';
import { InvalidArgumentError } from './errors.js';

/**
 * Opens the job store a URL names, as the registry is opened by `openRegistry`: `sqlite:///abs/path.db`
 * (or a plain path) for the SQLite store. A store of another kind only adds a scheme here and a folder
 * beside sqlite/. The store's module (and its native driver) is loaded only when one is opened.
 */
export async function openStore(url: string, options: Omit<SqliteStoreOptions, 'path'> = {}): Promise<JobStore> {
  const path = sqlitePath(url);
  const { SqliteJobStore } = await import('./sqlite/sqlite-store.js');
  return SqliteJobStore.open({ ...options, path });
}

function sqlitePath(url: string): string {
  if (url.startsWith('sqlite://')) {
    const rest = url.slice('sqlite://'.length);
    if (!rest.startsWith('/')) throw new InvalidArgumentError('store', 'must be sqlite:///absolute/path.db (three slashes)', url);
    return fileURLToPath(`file://${rest}`);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) throw new InvalidArgumentError('store', 'must be sqlite:///path.db or a path (no other store kind is built in)', url);
  return isAbsolute(url) ? url : resolve(url);
}
