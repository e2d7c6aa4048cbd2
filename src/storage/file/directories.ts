import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

import { StorageError } from '../errors.js';
import { fileError } from './errors.js';

/**
 * `mkdir -p`, one level at a time. Node's `mkdir(path, { recursive: true })` loops forever at 100% CPU
 * in the thread pool (or the main thread, for the sync form) on a path under /proc, where mkdir answers
 * ENOENT while the parent exists; nothing can cancel it, so the process ignores Ctrl-C. Here each level
 * is made once, so the work is bounded by the path's depth, and a level that cannot be made is named.
 *
 * @param path the directory to make (made absolute)
 * @param options.url the URL being written, for messages (default: the path)
 * @param options.mode the mode of each directory made, as mkdir's (default 0o777 less the umask)
 */
export async function ensureDirectory(path: string, options: { url?: string; mode?: number } = {}): Promise<void> {
  const url = options.url ?? path;
  const missing: string[] = [];
  let dir = resolve(path);
  for (;;) {
    const found = await stat(dir).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' || err.code === 'ENOTDIR' ? undefined : Promise.reject(fileError(url, err))));
    if (found !== undefined) {
      if (!found.isDirectory()) throw new StorageError('ERR_NOT_A_DIRECTORY', url, `Cannot write ${url}: ${dir} is a file, not a directory`);
      break;
    }
    missing.push(dir);
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  for (const level of missing.reverse()) {
    try {
      await mkdir(level, options.mode);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') continue; // made meanwhile by another writer
      if (code === 'ENOENT') {
        // The parent exists (it was found or just made), so this file system takes no new directories: /proc.
        throw new StorageError('ERR_STORAGE', url, `Cannot write ${url}: cannot create the directory ${level} (ENOENT, though ${dirname(level)} exists: a file system that holds no new files)`, { cause: err });
      }
      throw fileError(url, err);
    }
  }
}
