import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/fixtures.js';

/**
 * The layer rules of .dependency-cruiser.cjs (run on the real src/ by `npm run lint`), tried on a small
 * tree made here: a wrong import fails, with the rule's name in the output.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const tmp = tempDir('layers');
afterAll(() => tmp.remove());

function cruise(files: Record<string, string>): { code: number | null; out: string } {
  const dir = join(tmp.dir, `tree-${Math.random().toString(36).slice(2)}`);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', strict: true } }));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs'), 'src', '--config', join(ROOT, '.dependency-cruiser.cjs')], { cwd: dir, encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('the layer rules', () => {
  it('let a layer import the layers below it', () => {
    const r = cruise({
      'src/storage/index.ts': 'export const bytes = 1;\n',
      'src/raster/index.ts': "import { bytes } from '../storage/index.js';\nexport const pixels = bytes;\n",
      'src/jobs/index.ts': "import { pixels } from '../raster/index.js';\nexport const job = pixels;\n",
    });
    expect(r.out).toContain('no dependency violations found');
    expect(r.code).toBe(0);
  });

  it('fail an import of a higher layer, naming the rule', () => {
    const r = cruise({
      'src/engine/index.ts': 'export const engine = 1;\n',
      'src/algebra/index.ts': "import { engine } from '../engine/index.js';\nexport const kernel = engine;\n",
    });
    expect(r.code).not.toBe(0);
    expect(r.out).toContain('algebra-imports-only-lower-layers: src/algebra/index.ts → src/engine/index.ts');
  });

  it('fail raster code in the engine, the AWS SDK outside storage, and cycles', () => {
    const r = cruise({
      'src/raster/index.ts': 'export const pixels = 1;\n',
      'src/engine/index.ts': "import { pixels } from '../raster/index.js';\nexport const engine = pixels;\n",
      'src/jobs/list.ts': "import { S3Client } from '@aws-sdk/client-s3';\nexport const client = S3Client;\n",
      'src/jobs/a.ts': "import { b } from './b.js';\nexport const a = () => b;\n",
      'src/jobs/b.ts': "import { a } from './a.js';\nexport const b = () => a;\n",
    });
    expect(r.code).not.toBe(0);
    expect(r.out).toContain('engine-knows-no-rasters: src/engine/index.ts → src/raster/index.ts');
    expect(r.out).toContain('aws-sdk-only-in-storage: src/jobs/list.ts');
    expect(r.out).toContain('no-circular: src/jobs/a.ts');
  });
});
