import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { MAX_JSON_DEPTH, jsonSchema } from '../../../src/engine/api/json.js';
import { heartbeatSchema } from '../../../src/engine/api/schemas.js';
import { startJobman, type Jobman } from '../../../src/engine/jobman/server.js';
import { jsonPreview } from '../../../src/engine/jobman/preview.js';

/**
 * Bodies found by `npm run fuzz`: a value nested deeper than the stack where validation fails (the
 * root, or a field of the wrong type) was quoted in the 400's message with JSON.stringify, which threw
 * and turned the answer into a 500; and one where a JSON value is allowed (args, inputs, a result)
 * overflowed zod's recursion, which left an entry per level in zod's memoizer for ever (the Jobman's
 * heap grew by 14 KB a request).
 */
let dir: string;
let jobman: Jobman;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'databox-hostile-'));
  jobman = await startJobman({ home: dir, port: 0, heartbeatMs: 1000 });
});
afterAll(async () => {
  await jobman.close();
  await rm(dir, { recursive: true, force: true });
});

const DEPTH = 100_000;
const deep = `${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}`;

async function post(path: string, body: string): Promise<{ status: number; code: string; message: string }> {
  // The Taskman link takes the node's own token; everything else the API token.
  const token = path.startsWith('/v1/nodes/a/') ? jobman.nodeToken('a') : jobman.token;
  const res = await fetch(`${jobman.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });
  return { status: res.status, ...((await res.json()) as { code: string; message: string }) };
}

describe('a body nested deeper than the stack', () => {
  it.each(['/v1/jobs', '/v1/nodes/a/join', '/v1/nodes/a/heartbeat', '/v1/nodes/a/leave'])('as the whole body of POST %s is a 400 quoting its start', async (path) => {
    const res = await post(path, deep);
    expect(res.status).toBe(400);
    expect(res.code).toBe('ERR_VALIDATION');
    expect(res.message).toMatch(/^body Invalid input: expected object, received array \(got \[{80}\)$/);
  });

  it('as a field of the wrong type, or one not allowed, is a 400 naming the field', async () => {
    const wrongType = await post('/v1/jobs', `{"task":${deep},"count":1}`);
    expect(wrongType.status).toBe(400);
    expect(wrongType.message).toMatch(/^body\.task .*\(got \[+\)$/);
    const unknown = await post('/v1/jobs', `{"task":"builtin:noop","count":1,"extra":${deep}}`);
    expect(unknown.status).toBe(400);
    expect(unknown.code).toBe('ERR_VALIDATION');
    expect(jobman.scheduler.stats().queued).toBe(0);
  });
});

describe('a JSON value nested too deep', () => {
  const nested = (depth: number): unknown => JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`);

  it(`is refused by its depth, past ${MAX_JSON_DEPTH}, before validation recurses into it`, () => {
    expect(jsonSchema.safeParse(nested(MAX_JSON_DEPTH)).success).toBe(true);
    for (const depth of [MAX_JSON_DEPTH + 1, 100_000]) {
      // Before, zod recursed until the stack overflowed: safeParse threw a RangeError.
      const result = jsonSchema.safeParse(nested(depth));
      expect(result.error?.issues[0]?.message).toBe(`must not nest arrays and objects more than ${MAX_JSON_DEPTH} deep`);
    }
    const beat = { incarnation: 'incarnation-1', seq: 1, ack: 0, want: 0, workers: [], metrics: null, changes: [{ id: '1', attempt: 1, to: 'succeeded', result: nested(100_000) }] };
    expect(heartbeatSchema.safeParse(beat).error?.issues[0]?.path).toEqual(['changes', 0, 'result']);
  });

  it('in a job’s args or inputs is a 400 naming the field and the limit', async () => {
    for (const body of [`{"task":"builtin:noop","count":1,"args":${deep}}`, `{"task":"builtin:noop","inputs":[${'{"a":'.repeat(DEPTH)}1${'}'.repeat(DEPTH)}]}`]) {
      const res = await post('/v1/jobs', body);
      expect(res.status).toBe(400);
      expect(res.code).toBe('ERR_VALIDATION');
      expect(res.message).toMatch(new RegExp(`^body\\.(args|inputs\\.0) must not nest arrays and objects more than ${MAX_JSON_DEPTH} deep`));
    }
    expect(jobman.scheduler.stats().queued).toBe(0);
  });
});

describe('jsonPreview', () => {
  it('is the start of JSON.stringify for ordinary values', () => {
    const values: unknown[] = [null, true, 0, -1.5, 'a "quoted" string', [], {}, [1, [2, [3]], { a: 'b' }], { 'k"ey': [null, { x: 1e21 }], n: 'é😀' }, 'x'.repeat(200)];
    for (const v of values) {
      for (const max of [1, 5, 80, 1000]) expect(jsonPreview(v, max)).toBe(JSON.stringify(v).slice(0, max));
    }
  });

  it('reads only what it writes: of a value of millions of elements, only the few it quotes', () => {
    let reads = 0;
    const huge = new Proxy(new Array<number>(5_000_000).fill(7), {
      get(target, key, receiver) {
        if (typeof key === 'string' && /^\d+$/.test(key)) reads++;
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    expect(jsonPreview({ inputs: huge }, 80)).toBe(`{"inputs":[${'7,'.repeat(34)}7`);
    expect(reads).toBeLessThan(40);
  });
});
