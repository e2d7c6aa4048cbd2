import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkWritable, ensureDirectory, StorageError } from '../../src/storage/index.js';
import { tempDir } from '../helpers/fixtures.js';

const tmp = tempDir('dirs');
afterAll(() => tmp.remove());

describe('ensureDirectory', () => {
  it('makes every missing level, with the mode asked for', async () => {
    const dir = join(tmp.dir, 'a', 'b', 'c');
    await ensureDirectory(dir, { mode: 0o700 });
    expect(statSync(dir).isDirectory()).toBe(true);
    expect(statSync(join(tmp.dir, 'a')).mode & 0o777).toBe(0o700);
    await ensureDirectory(dir); // there already: nothing to do
  });

  it('refuses a path under /proc at once, where Node’s recursive mkdir loops forever', async () => {
    await expect(ensureDirectory('/proc/databox-nope/x')).rejects.toThrow(/cannot create the directory \/proc\/databox-nope \(ENOENT, though \/proc exists/);
  });

  it('names the file that stands where a directory should be', async () => {
    const file = join(tmp.dir, 'plain.txt');
    writeFileSync(file, 'x');
    await expect(ensureDirectory(join(file, 'sub'), { url: 'out.tif' })).rejects.toThrow(`Cannot write out.tif: ${file} is a file, not a directory`);
  });
});

describe('checkWritable', () => {
  it('accepts a file in a new folder, leaving the folder and no probe behind', async () => {
    const out = join(tmp.dir, 'new', 'out.tif');
    await checkWritable(out);
    expect(statSync(join(tmp.dir, 'new')).isDirectory()).toBe(true);
    expect(readdirSync(join(tmp.dir, 'new'))).toEqual([]);
  });

  it('refuses a directory, /sys, and http(s) with typed storage errors', async () => {
    await expect(checkWritable(tmp.dir)).rejects.toThrow(/it is a directory/);
    const sys = checkWritable('/sys/databox-nope/out.tif');
    await expect(sys).rejects.toBeInstanceOf(StorageError);
    await expect(sys).rejects.toThrow(/^Access denied \((EPERM|EACCES)\): \/sys\/databox-nope\/out.tif$/);
    await expect(checkWritable('https://example.com/out.tif')).rejects.toThrow(/read-only/);
  });
});
