import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { idempotencyKey, type UdfContext } from '../../../src/engine/udf/define.js';

/** The checked-in UDF modules. */
export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

/** A fresh temp directory; `remove` deletes it. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `databox-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Writes `files` (path → text) under `root`, making directories as needed; returns `root`. */
export function writeTree(root: string, files: Record<string, string>): string {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

/** A context good enough to call a UDF's map in a test. */
export function testContext(node = 'test-node', index = 0): UdfContext {
  return {
    jobId: '1',
    subtaskId: '1',
    index,
    attempt: 1,
    idempotencyKey: idempotencyKey('1', index),
    node,
    signal: new AbortController().signal,
    log: { info: () => undefined, warn: () => undefined, error: () => undefined },
    progress: () => undefined,
    open: () => {
      throw new Error('no storage in this test');
    },
    scratchDir: tmpdir(),
  };
}

/** A fetchBundle that serves `code` and counts its calls. */
export function serving(code: Uint8Array): ((sha256: string) => Promise<Uint8Array>) & { calls: number } {
  const fetch = Object.assign(
    async () => {
      fetch.calls++;
      return code;
    },
    { calls: 0 },
  );
  return fetch;
}

/** What `promise` rejected with, checked to be of `type`. */
export async function refusal<E extends Error>(promise: Promise<unknown>, type: new (...args: never[]) => E): Promise<E> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  // No vitest here: this module is also loaded by load-child.ts, outside any test runner.
  if (!(err instanceof type)) throw new Error(`expected a ${type.name}, got ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
  return err;
}
