import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SHARED = join(ROOT, '..', 'shared');
/** Made on demand by the benchmarks, so never in a checkout. */
const GENERATED = ['bench/data/'];

/** Paths the user reads and types: every repo path that a README or doc names, with the file that names it. */
function namedPaths(): { doc: string; path: string }[] {
  const docs = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
  const out: { doc: string; path: string }[] = [];
  // A path starts at a top-level folder of the repository (or ../shared) and runs to the first character
  // that cannot be part of one; placeholders such as <scene> or *_B4.TIF are not files and are left out.
  // A path that ends in `-` or `_` is the start of a pattern (engine-*.ts, ..._T1_B4.TIF): its prefix must exist.
  const pattern = /(?<![\w./-])((?:\.\.\/shared|examples|docs|bench|scripts|test|src)\/[\w./-]*[\w/-])/g;
  for (const doc of docs) {
    const text = readFileSync(join(ROOT, doc), 'utf8');
    for (const m of text.matchAll(pattern)) out.push({ doc, path: m[1]! });
  }
  return out;
}

describe('documentation', () => {
  it('names only paths that a clean checkout has (tracked by git, not ignored)', () => {
    const tracked = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
    const isTracked = (p: string): boolean => {
      const q = p.replace(/\/$/, '');
      return tracked.some((f) => f === q || f.startsWith(`${q}/`) || (/[-_]$/.test(q) && f.startsWith(q)));
    };
    const inShared = (p: string): boolean => {
      const q = join(SHARED, p.slice('../shared/'.length));
      if (existsSync(q)) return true;
      // A scene's path prefix (…_T1 in `${L}_B4.TIF`): some file in its folder starts with it.
      const dir = join(q, '..');
      const base = q.slice(dir.length + 1);
      return existsSync(dir) && readdirSync(dir).some((f) => f.startsWith(base));
    };
    const named = namedPaths();
    expect(named.length).toBeGreaterThan(10);
    const missing = named
      .filter(({ path }) => !GENERATED.some((g) => path.startsWith(g)))
      .filter(({ path }) => (path.startsWith('../shared/') ? !inShared(path) : !isTracked(path)))
      .map(({ doc, path }) => `${doc}: ${path}`);
    expect(missing).toEqual([]);
  });
});
