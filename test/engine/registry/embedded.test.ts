import { once } from 'node:events';

import { describe, expect, it } from 'vitest';

import { EmbeddedRegistry, RegistryErrorCode } from '../../../src/engine/registry/index.js';
import { describeRegistryContract, nextEvents, brief, taskmanInfo, uniquePrefix } from './contract.js';

describeRegistryContract('embedded', (prefix) => new EmbeddedRegistry({ prefix }), { shortTtlMs: 50 });

describe('embedded registry', () => {
  it('a Taskman held through heartbeats (keepAlive: false) stays while refreshed and expires after it stops', async () => {
    const registry = new EmbeddedRegistry({ prefix: uniquePrefix('embedded-beats') });
    const watch = await registry.watch('taskman');
    const registration = await registry.register('taskman', 'remote-1', taskmanInfo(), { ttlMs: 40, keepAlive: false });
    const lost = once(registration, 'lost');
    expect((await nextEvents(watch, 1)).map(brief)).toEqual(['put taskman/remote-1 2']);
    // Each delete of a short-lived probe marks 40 ms passing; refreshing in between keeps remote-1.
    for (let beat = 0; beat < 3; beat++) {
      const probe = await registry.register('taskman', `probe-${beat}`, taskmanInfo(), { ttlMs: 30 });
      probe.release();
      await registration.refresh();
      expect((await nextEvents(watch, 2)).map(brief)).toEqual([`put taskman/probe-${beat} 2`, `delete taskman/probe-${beat}`]);
      await registration.refresh();
    }
    expect(registration.state).toBe('alive');
    const [err] = (await lost) as [Error]; // stops beating: lost after the TTL
    expect(err).toMatchObject({ code: RegistryErrorCode.leaseLost, message: expect.stringContaining('not refreshed within its TTL of 40 ms') });
    expect(await registry.get('taskman', 'remote-1')).toBeUndefined();
    await registry.close();
  });

  it('values are stored as JSON: changing the object after registering changes nothing', async () => {
    const registry = new EmbeddedRegistry({ prefix: uniquePrefix('embedded-copy') });
    const value = taskmanInfo(2);
    await registry.register('taskman', 'node-1', value);
    value.workers = 99;
    expect((await registry.get('taskman', 'node-1'))?.value.workers).toBe(2);
    await registry.close();
  });
});
