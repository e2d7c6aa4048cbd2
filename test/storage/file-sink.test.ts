import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { FileSink, openSink, readAll, writeAll } from '../../src/storage/index.js';
import { expectSameBytes, patternBytes } from './support/bytes.js';
import { makeTempDir, type TempDir } from './support/temp-dir.js';

let dir: TempDir;

beforeEach(async () => {
  dir = await makeTempDir('file-sink');
});

afterEach(async () => {
  await dir.remove();
});

describe('the file sink', () => {
  it('writes nothing at the URL before close, then the whole file at once', async () => {
    const path = join(dir.path, 'out.tif');
    const data = patternBytes(50_000, 31);
    const sink = await openSink(path);
    await sink.write(data.subarray(0, 20_000));
    await sink.write(data.subarray(20_000));
    expect(await readdir(dir.path)).toEqual([expect.stringMatching(/^\.out\.tif\.partial-[0-9a-f]+$/)]);
    await sink.close();
    expect(await readdir(dir.path)).toEqual(['out.tif']);
    expectSameBytes(await readFile(path), data);
  });

  it('writes beside the target in a temp file named .<name>.partial-<random>', async () => {
    const sink = await openSink(join(dir.path, 'a.tif'));
    expect(sink).toBeInstanceOf(FileSink);
    expect((sink as FileSink).partialPath).toMatch(/\/\.a\.tif\.partial-[0-9a-f]{12}$/);
    await sink.abort();
  });

  it('leaves nothing behind when aborted', async () => {
    const sink = await openSink(join(dir.path, 'out.tif'));
    await sink.write(patternBytes(1_000));
    await sink.abort();
    expect(await readdir(dir.path)).toEqual([]);
  });

  it('keeps the old file readable until close replaces it whole', async () => {
    const path = join(dir.path, 'out.tif');
    await writeFile(path, 'old');
    const sink = await openSink(path);
    await sink.write(patternBytes(10, 32));
    expect(await readFile(path, 'utf8')).toBe('old');
    await sink.close();
    expectSameBytes(await readFile(path), patternBytes(10, 32));
  });

  it('creates missing parent folders', async () => {
    const url = join(dir.path, 'a', 'b', 'c.tif');
    await writeAll(url, patternBytes(100, 33));
    expectSameBytes(await readAll(url), patternBytes(100, 33));
  });

  it('refuses writes after close, naming the URL', async () => {
    const path = join(dir.path, 'out.tif');
    const sink = await openSink(path);
    await sink.close();
    await expect(sink.write(patternBytes(1))).rejects.toThrow(`Cannot write ${path}: the sink is already closed`);
  });
});
