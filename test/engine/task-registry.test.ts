import { describe, expect, it } from 'vitest';
import { DIAGNOSTIC_TASKS, TaskRegistry } from '../../src/engine/index.js';
import { RASTER_JOB_TASKS } from '../../src/jobs/tasks.js';

describe('the task registry', () => {
  it('knows the diagnostic built-ins with no package, and refuses other names, listing what it knows', () => {
    const bare = new TaskRegistry();
    expect(bare.names).toEqual(['noop', 'sleep', 'fail', 'crash']);
    expect(bare.parse('builtin:noop')).toEqual({ kind: 'builtin', name: 'noop' });
    expect(() => bare.parse('builtin:raster-window')).toThrow('Unknown task "builtin:raster-window": a task is udf:<sha256 of an uploaded bundle> or one of the built-ins builtin:noop, builtin:sleep, builtin:fail, builtin:crash');
    expect(bare.parse(`udf:${'a'.repeat(64)}`)).toEqual({ kind: 'udf', sha256: 'a'.repeat(64) });
  });

  it('takes the raster jobs’ names from their package, and their handlers from its module on first use', async () => {
    const registry = new TaskRegistry([RASTER_JOB_TASKS]);
    expect(registry.names).toEqual([...DIAGNOSTIC_TASKS, 'raster-window', 'cog-assemble', 'zonal-tiles']);
    expect(registry.parse('builtin:zonal-tiles')).toEqual({ kind: 'builtin', name: 'zonal-tiles' });
    // The package's module answers to exactly the names the package registers.
    const { tasks } = (await import(RASTER_JOB_TASKS.module)) as { tasks: Record<string, unknown> };
    expect(Object.keys(tasks).sort()).toEqual([...RASTER_JOB_TASKS.names].sort());
    for (const name of RASTER_JOB_TASKS.names) expect(await registry.load(name)).toBe(tasks[name]);
  });

  it('travels to workers through the environment, and refuses what it cannot read', () => {
    const registry = new TaskRegistry([RASTER_JOB_TASKS]);
    const env = { DATABOX_TASK_PACKAGES: JSON.stringify(registry.packages) };
    expect(TaskRegistry.fromEnv(env).names).toEqual(registry.names);
    expect(() => TaskRegistry.fromEnv({ DATABOX_TASK_PACKAGES: '{not json' })).toThrow('DATABOX_TASK_PACKAGES must be JSON');
    expect(() => new TaskRegistry([{ names: ['noop'], module: '/x.js' }])).toThrow('Task name noop is registered twice');
  });
});
