import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { isRetryable } from '../../../src/errors.js';
import {
  EtcdRegistry,
  InvalidRegistryEntryError,
  RegistryConflictError,
  RegistryErrorCode,
  type Registry,
} from '../../../src/engine/registry/index.js';
import { brief, describeRegistryContract, jobmanInfo, nextEvents, taskmanInfo, uniquePrefix } from './contract.js';
import { etcdSkipReason, freePort, startEtcd, type EtcdServer } from './etcd-server.js';

const HOLDER = fileURLToPath(new URL('./fixtures/hold-registration.ts', import.meta.url));

describe.skipIf(etcdSkipReason !== undefined)(`etcd registry${etcdSkipReason ? ` (skipped: ${etcdSkipReason})` : ''}`, () => {
  let etcd: EtcdServer;
  beforeAll(async () => {
    etcd = await startEtcd();
  });
  afterAll(async () => {
    await etcd?.stop();
  });

  describeRegistryContract('etcd', (prefix) => new EtcdRegistry(etcd.url, { prefix }), { shortTtlMs: 1_000 });

  /** Registries opened by one test, closed at its end even when it fails. */
  async function withRegistries(count: number, prefix: string, body: (...registries: EtcdRegistry[]) => Promise<void>): Promise<void> {
    const registries = Array.from({ length: count }, () => new EtcdRegistry(etcd.url, { prefix }));
    try {
      await body(...registries);
    } finally {
      await Promise.all(registries.map((r) => r.close()));
    }
  }

  it('two members on one prefix see each other, and a second Jobman anywhere is refused', async () => {
    await withRegistries(2, uniquePrefix('etcd-peers'), async (jobmanSide, taskmanSide) => {
      await jobmanSide.register('jobman', 'jm-1', jobmanInfo(7070));
      await taskmanSide.register('taskman', 'node-1', taskmanInfo(3));
      expect(await taskmanSide.list('jobman')).toEqual([{ kind: 'jobman', id: 'jm-1', value: jobmanInfo(7070) }]);
      expect((await jobmanSide.get('taskman', 'node-1'))?.value.workers).toBe(3);
      await expect(taskmanSide.register('jobman', 'jm-2', jobmanInfo(7071))).rejects.toBeInstanceOf(RegistryConflictError);
    });
  });

  it('close revokes the leases: another member sees the deletes at once', async () => {
    await withRegistries(2, uniquePrefix('etcd-close'), async (leaving, observer) => {
      const watch = await observer.watch('taskman');
      await leaving.register('taskman', 'node-1', taskmanInfo());
      await leaving.close();
      expect((await nextEvents(watch, 2)).map(brief)).toEqual(['put taskman/node-1 2', 'delete taskman/node-1']);
    });
  });

  it('TTLs are rounded up to whole seconds, etcd granularity', async () => {
    await withRegistries(1, uniquePrefix('etcd-ttl'), async (registry) => {
      expect((await registry.register('taskman', 'a', taskmanInfo(), { ttlMs: 1 })).ttlMs).toBe(1_000);
      expect((await registry.register('taskman', 'b', taskmanInfo(), { ttlMs: 1_001 })).ttlMs).toBe(2_000);
      expect((await registry.register('taskman', 'c', taskmanInfo())).ttlMs).toBe(10_000);
    });
  });

  it('foreign or corrupt values are skipped by list and watch with a reason, and get throws a typed error', async () => {
    const prefix = uniquePrefix('etcd-foreign');
    const problems: InvalidRegistryEntryError[] = [];
    const registry = new EtcdRegistry(etcd.url, { prefix, onInvalidEntry: (problem) => problems.push(problem) });
    const rawClient = new Etcd3({ hosts: etcd.clientUrl });
    const raw = rawClient.namespace(prefix);
    try {
      const watch = await registry.watch('taskman');
      await raw.put('taskman/garbage').value('not json {');
      await raw.put('taskman/old').value(JSON.stringify({ url: 'http://x:1', workers: 'four', startedAt: '2024-05-01T12:00:00Z' }));
      await raw.put('taskman/bad id!').value(JSON.stringify(taskmanInfo()));
      await registry.register('taskman', 'good', taskmanInfo(1));
      expect((await nextEvents(watch, 1)).map(brief)).toEqual(['put taskman/good 1']); // the three before it were skipped
      expect(await registry.list('taskman')).toEqual([{ kind: 'taskman', id: 'good', value: taskmanInfo(1) }]);
      await expect(registry.get('taskman', 'garbage')).rejects.toBeInstanceOf(InvalidRegistryEntryError);
      await expect(registry.get('taskman', 'old')).rejects.toThrow(
        `Registry entry ${prefix}taskman/old is invalid: not a taskman value: field workers must be a non-negative integer`,
      );
      expect(problems.map((p) => p.reason)).toEqual([
        // watch, in put order
        'value is not JSON: not json {',
        'not a taskman value: field workers must be a non-negative integer',
        '"bad id!" is not a valid taskman id',
        // list, in key order
        '"bad id!" is not a valid taskman id',
        'value is not JSON: not json {',
        'not a taskman value: field workers must be a non-negative integer',
      ]);
    } finally {
      await registry.close();
      rawClient.close();
    }
  });

  it('the entry of a holder process killed with SIGKILL disappears after its TTL', async () => {
    const prefix = uniquePrefix('etcd-killed');
    await withRegistries(1, prefix, async (observer) => {
      const watch = await observer.watch('taskman');
      const holder = spawn(process.execPath, ['--import', 'tsx', HOLDER, etcd.url, prefix, 'node-9', '1000'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      holder.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      const exited = once(holder, 'exit');
      try {
        const [first] = await nextEvents(watch, 1);
        expect(first && brief(first)).toBe('put taskman/node-9 1');
        holder.kill('SIGKILL');
        await exited;
        expect((await nextEvents(watch, 1)).map(brief)).toEqual(['delete taskman/node-9']);
      } catch (err) {
        throw new Error(`${(err as Error).message}\nholder stderr: ${stderr}`);
      } finally {
        if (holder.exitCode === null && holder.signalCode === null) holder.kill('SIGKILL');
      }
    });
  });

  it('when etcd dies, a held registration reports lost and calls fail with retryable errors', async () => {
    const doomed = await startEtcd();
    const registry: Registry = new EtcdRegistry(doomed.url, { prefix: uniquePrefix('etcd-dies'), callTimeoutMs: 2_000 });
    try {
      const registration = await registry.register('taskman', 'node-1', taskmanInfo(), { ttlMs: 1_000 });
      const lost = once(registration, 'lost');
      await doomed.kill();
      const [err] = (await lost) as [Error];
      expect(err).toMatchObject({ code: RegistryErrorCode.leaseLost });
      expect(registration.state).toBe('lost');
      const listing = registry.list('taskman');
      await expect(listing).rejects.toMatchObject({ code: RegistryErrorCode.unavailable, retryable: true });
      expect(isRetryable(await listing.catch((e: unknown) => e))).toBe(true);
      await expect(registry.register('taskman', 'node-2', taskmanInfo())).rejects.toMatchObject({
        code: RegistryErrorCode.unavailable,
        message: expect.stringContaining(`etcd at ${doomed.clientUrl} is unavailable while registering taskman node-2`),
      });
    } finally {
      await registry.close();
      await doomed.stop();
    }
  });

  it('an etcd nobody listens on gives a retryable ERR_REGISTRY_UNAVAILABLE', async () => {
    const port = await freePort();
    const registry = new EtcdRegistry(`etcd://127.0.0.1:${port}`, { prefix: uniquePrefix('etcd-none'), callTimeoutMs: 2_000 });
    try {
      await expect(registry.get('jobman', 'jm')).rejects.toMatchObject({ code: RegistryErrorCode.unavailable, retryable: true });
    } finally {
      await registry.close();
    }
  });
});
