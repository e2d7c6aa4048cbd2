import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { FileSource, openSource, readAll } from '../../src/storage/index.js';
import { expectSameBytes, patternBytes } from './support/bytes.js';
import { describeSourceContract } from './support/source-contract.js';
import { makeTempDir, type TempDir } from './support/temp-dir.js';

let dir: TempDir;

beforeAll(async () => {
  dir = await makeTempDir('file-source');
});

afterAll(async () => {
  await dir.remove();
});

describeSourceContract('file', () => ({
  put: async (name, bytes) => {
    const path = join(dir.path, name);
    await writeFile(path, bytes);
    return path;
  },
  missingUrl: () => join(dir.path, 'no-such-file.tif'),
  options: {},
}));

describe('file URLs', () => {
  it('reads the same bytes through an absolute path, a relative path and a file:// URL', async () => {
    const data = patternBytes(5_000, 3);
    const path = join(dir.path, 'nested', 'a b.bin');
    await mkdir(join(dir.path, 'nested'), { recursive: true });
    await writeFile(path, data);
    for (const url of [path, relative(process.cwd(), path), pathToFileURL(path).href]) {
      expectSameBytes(await readAll(url), data);
    }
  });

  it('opens a FileSource behind the cache by default and a bare one when the cache is off', async () => {
    const path = join(dir.path, 'kind.bin');
    await writeFile(path, patternBytes(10));
    const bare = openSource(path, { cache: false });
    expect(bare).toBeInstanceOf(FileSource);
    expect(openSource(path).constructor.name).toBe('CachedSource');
    await bare.close();
  });

  it('opens nothing until the first read, so a missing file fails there and not at open', async () => {
    const source = openSource(join(dir.path, 'later.bin'));
    await writeFile(join(dir.path, 'later.bin'), patternBytes(100, 9));
    expectSameBytes(await source.read(0, 100), patternBytes(100, 9));
    await source.close();
  });
});
