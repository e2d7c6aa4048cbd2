/**
 * The registry contract: one suite, run against every back-end (embedded.test.ts, etcd.test.ts).
 * Each test gets its own key prefix. Tests wait on watch events, never on sleeps: TTL expiry is
 * observed as the `delete` it causes.
 */
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';

import { afterEach, describe, expect, it } from 'vitest';

import {
  RegistryConflictError,
  RegistryErrorCode,
  type JobmanInfo,
  type Registry,
  type RegistryEvent,
  type RegistryKind,
  type RegistryWatch,
  type TaskmanInfo,
} from '../../../src/engine/registry/index.js';

export interface ContractOptions {
  /** A short TTL the back-end honours (etcd: 1 s, its granularity). */
  shortTtlMs: number;
  /** Set to skip the whole suite, with the reason shown. */
  skip?: string | undefined;
}

const STARTED = '2024-05-01T12:00:00.000Z';

export function jobmanInfo(port = 7070): JobmanInfo {
  return { url: `http://127.0.0.1:${port}`, startedAt: STARTED };
}

export function taskmanInfo(workers = 2, port = 7171): TaskmanInfo {
  return { url: `http://127.0.0.1:${port}`, workers, startedAt: STARTED };
}

/** A prefix no other test uses. */
export function uniquePrefix(label: string): string {
  return `/databox-test/${label}-${randomUUID().slice(0, 8)}/`;
}

/** The next `count` events of a watch; fails (rather than hangs) if the watch ends first. */
export async function nextEvents<K extends RegistryKind>(watch: RegistryWatch<K>, count: number): Promise<RegistryEvent<K>[]> {
  const events: RegistryEvent<K>[] = [];
  while (events.length < count) {
    const next = await watch.next();
    if (next.done) throw new Error(`watch ended after ${events.length} of ${count} events`);
    events.push(next.value);
  }
  return events;
}

/** Short form of an event for readable assertions: `put taskman/a 2`, `delete taskman/a`. */
export function brief(event: RegistryEvent): string {
  if (event.type === 'delete') return `delete ${event.kind}/${event.id}`;
  return `put ${event.kind}/${event.id}${'workers' in event.value ? ` ${event.value.workers}` : ''}`;
}

export function describeRegistryContract(name: string, make: (prefix: string) => Registry, options: ContractOptions): void {
  describe.skipIf(options.skip !== undefined)(`registry contract: ${name}${options.skip ? ` (skipped: ${options.skip})` : ''}`, () => {
    const opened: Registry[] = [];
    const open = (prefix = uniquePrefix(name)): Registry => {
      const registry = make(prefix);
      opened.push(registry);
      return registry;
    };
    const ttlMs = options.shortTtlMs;

    afterEach(async () => {
      await Promise.all(opened.splice(0).map((registry) => registry.close()));
    });

    it('a registered taskman can be read back with get and list', async () => {
      const registry = open();
      const registration = await registry.register('taskman', 'node-1', taskmanInfo(4));
      expect(registration.state).toBe('alive');
      expect(registration.value).toEqual(taskmanInfo(4));
      expect(await registry.get('taskman', 'node-1')).toEqual({ kind: 'taskman', id: 'node-1', value: taskmanInfo(4) });
      expect(await registry.list('taskman')).toEqual([{ kind: 'taskman', id: 'node-1', value: taskmanInfo(4) }]);
    });

    it('list returns the entries of the asked kind only, ordered by id', async () => {
      const registry = open();
      await registry.register('taskman', 'node-b', taskmanInfo(1));
      await registry.register('taskman', 'node-a', taskmanInfo(2));
      await registry.register('jobman', 'jm', jobmanInfo());
      await registry.register('client', 'c-1', { host: 'laptop', pid: 42, connectedAt: STARTED });
      expect((await registry.list('taskman')).map((e) => e.id)).toEqual(['node-a', 'node-b']);
      expect(await registry.list('jobman')).toEqual([{ kind: 'jobman', id: 'jm', value: jobmanInfo() }]);
      expect(await registry.list('client')).toEqual([{ kind: 'client', id: 'c-1', value: { host: 'laptop', pid: 42, connectedAt: STARTED } }]);
    });

    it('get of an id nobody registered is undefined', async () => {
      const registry = open();
      expect(await registry.get('taskman', 'nobody')).toBeUndefined();
      expect(await registry.list('taskman')).toEqual([]);
    });

    it('a second live Jobman, whatever its id, is refused with a conflict naming the holder', async () => {
      const registry = open();
      await registry.register('jobman', 'jm-1', jobmanInfo(7070));
      const refused = registry.register('jobman', 'jm-2', jobmanInfo(7071));
      await expect(refused).rejects.toBeInstanceOf(RegistryConflictError);
      await expect(refused).rejects.toMatchObject({
        code: RegistryErrorCode.conflict,
        retryable: false,
        holderId: 'jm-1',
        message: expect.stringContaining('jobman jm-1 at http://127.0.0.1:7070'),
      });
      expect((await registry.list('jobman')).map((e) => e.id)).toEqual(['jm-1']);
    });

    it('a Jobman can register once the previous one is revoked', async () => {
      const registry = open();
      const first = await registry.register('jobman', 'jm-1', jobmanInfo(7070));
      await first.revoke();
      await registry.register('jobman', 'jm-2', jobmanInfo(7071));
      expect((await registry.list('jobman')).map((e) => e.id)).toEqual(['jm-2']);
    });

    it('a second live registration of the same taskman node is refused; other nodes are not', async () => {
      const registry = open();
      await registry.register('taskman', 'node-1', taskmanInfo(1));
      await expect(registry.register('taskman', 'node-1', taskmanInfo(2))).rejects.toMatchObject({
        code: RegistryErrorCode.conflict,
        message: expect.stringContaining('taskman node-1 is already registered'),
      });
      await registry.register('taskman', 'node-2', taskmanInfo(2));
      expect((await registry.get('taskman', 'node-1'))?.value.workers).toBe(1);
    });

    it('revoke removes the entry at once, and revoking twice is harmless', async () => {
      const registry = open();
      const registration = await registry.register('taskman', 'node-1', taskmanInfo());
      await registration.revoke();
      expect(registration.state).toBe('revoked');
      expect(await registry.get('taskman', 'node-1')).toBeUndefined();
      await registration.close();
      await expect(registration.update(taskmanInfo(3))).rejects.toMatchObject({ code: RegistryErrorCode.closed });
    });

    it('watch sees puts, updates and deletes in the order they happened', async () => {
      const registry = open();
      const watch = await registry.watch('taskman');
      const a = await registry.register('taskman', 'a', taskmanInfo(1));
      const b = await registry.register('taskman', 'b', taskmanInfo(2));
      await registry.register('jobman', 'jm', jobmanInfo()); // another kind: not seen
      await a.update(taskmanInfo(3));
      await a.revoke();
      await b.revoke();
      expect((await nextEvents(watch, 5)).map(brief)).toEqual([
        'put taskman/a 1',
        'put taskman/b 2',
        'put taskman/a 3',
        'delete taskman/a',
        'delete taskman/b',
      ]);
      await watch.close();
    });

    it('update replaces the value under the same lease', async () => {
      const registry = open();
      const registration = await registry.register('taskman', 'node-1', taskmanInfo(1));
      await registration.update(taskmanInfo(8));
      expect(registration.value.workers).toBe(8);
      expect((await registry.get('taskman', 'node-1'))?.value.workers).toBe(8);
      await registration.revoke();
      expect(await registry.get('taskman', 'node-1')).toBeUndefined();
    });

    it('a released registration (its holder died) disappears after its TTL', async () => {
      const registry = open();
      const watch = await registry.watch('taskman');
      const registration = await registry.register('taskman', 'node-1', taskmanInfo(), { ttlMs });
      expect(registration.ttlMs).toBe(ttlMs);
      registration.release();
      expect(registration.state).toBe('released');
      expect(await registry.get('taskman', 'node-1')).toBeDefined(); // not before the TTL runs out
      expect((await nextEvents(watch, 2)).map(brief)).toEqual(['put taskman/node-1 2', 'delete taskman/node-1']);
      expect(await registry.get('taskman', 'node-1')).toBeUndefined();
      await registry.register('taskman', 'node-1', taskmanInfo(3)); // the node name is free again
    });

    it('a registration not refreshed expires, and its holder is then told it is lost', async () => {
      const registry = open();
      const watch = await registry.watch('taskman');
      const registration = await registry.register('taskman', 'node-1', taskmanInfo(), { ttlMs, keepAlive: false });
      const lost = once(registration, 'lost');
      await registration.refresh(); // alive: a refresh succeeds
      expect((await nextEvents(watch, 2)).map(brief)).toEqual(['put taskman/node-1 2', 'delete taskman/node-1']);
      const refused = registration.refresh();
      await expect(refused).rejects.toMatchObject({ code: RegistryErrorCode.leaseLost, retryable: false });
      const [err] = (await lost) as [Error];
      expect(err).toMatchObject({ code: RegistryErrorCode.leaseLost });
      expect(registration.state).toBe('lost');
    });

    it('a kept-alive registration outlives its TTL', async () => {
      const registry = open();
      const watch = await registry.watch('taskman');
      const kept = await registry.register('taskman', 'kept', taskmanInfo(1), { ttlMs });
      const dropped = await registry.register('taskman', 'dropped', taskmanInfo(2), { ttlMs });
      dropped.release();
      // The dropped one's delete proves a full TTL has passed; the kept one is still there.
      expect((await nextEvents(watch, 3)).map(brief)).toEqual(['put taskman/kept 1', 'put taskman/dropped 2', 'delete taskman/dropped']);
      expect(kept.state).toBe('alive');
      expect((await registry.list('taskman')).map((e) => e.id)).toEqual(['kept']);
    });

    it('prefixes isolate registries from each other', async () => {
      const one = open(uniquePrefix(`${name}-one`));
      const two = open(uniquePrefix(`${name}-two`));
      await one.register('jobman', 'jm', jobmanInfo(7070));
      await two.register('jobman', 'jm', jobmanInfo(7071)); // no conflict across prefixes
      await one.register('taskman', 'node-1', taskmanInfo(1));
      expect(await two.list('taskman')).toEqual([]);
      expect((await two.get('jobman', 'jm'))?.value.url).toBe('http://127.0.0.1:7071');
    });

    it('a watch ends when its signal aborts', async () => {
      const registry = open();
      const controller = new AbortController();
      const watch = await registry.watch('taskman', { signal: controller.signal });
      const pending = watch.next();
      controller.abort();
      expect(await pending).toEqual({ value: undefined, done: true });
      const seen: RegistryEvent[] = [];
      for await (const event of watch) seen.push(event);
      expect(seen).toEqual([]);
    });

    it('values are validated on the way in, naming the field', async () => {
      const registry = open();
      await expect(registry.register('taskman', 'node-1', { ...taskmanInfo(), workers: -1 })).rejects.toMatchObject({
        code: RegistryErrorCode.invalidValue,
        message: 'taskman value.workers must be a non-negative integer (got -1)',
      });
      await expect(registry.register('jobman', 'jm', { url: 'ftp://x', startedAt: STARTED })).rejects.toMatchObject({
        code: RegistryErrorCode.invalidValue,
        message: expect.stringMatching(/^jobman value\.url must be an http\(s\) URL/),
      });
      expect(await registry.list('taskman')).toEqual([]);
    });

    it('bad kinds, ids and register options are refused, naming them', async () => {
      const registry = open();
      await expect(registry.register('worker' as 'taskman', 'w', taskmanInfo())).rejects.toThrow(/^kind must be one of jobman, taskman, client \(got "worker"\)/);
      await expect(registry.register('taskman', 'a/b', taskmanInfo())).rejects.toThrow(/^id must be 1-200 characters .* \(got "a\/b"\)/);
      await expect(registry.get('taskman', '')).rejects.toMatchObject({ code: RegistryErrorCode.invalidOption });
      await expect(registry.register('taskman', 'n', taskmanInfo(), { ttlMs: 0 })).rejects.toThrow(/^register options\.ttlMs must be a positive integer/);
      await expect(registry.register('taskman', 'n', taskmanInfo(), { ttl: 5 } as never)).rejects.toThrow('register options.ttl is not a known option (got 5)');
    });

    it('close revokes what it registered, ends its watches, and refuses later calls', async () => {
      const registry = open();
      const watch = await registry.watch('taskman');
      const registration = await registry.register('taskman', 'node-1', taskmanInfo());
      await registry.close();
      expect(registration.state).toBe('revoked');
      const events: RegistryEvent[] = [];
      for await (const event of watch) events.push(event); // ends: what was buffered, then done
      expect(events.every((event) => event.kind === 'taskman')).toBe(true);
      await expect(registry.list('taskman')).rejects.toMatchObject({ code: RegistryErrorCode.closed });
      await expect(registry.register('taskman', 'node-2', taskmanInfo())).rejects.toMatchObject({ code: RegistryErrorCode.closed });
      await registry.close(); // twice is harmless
    });
  });
}
