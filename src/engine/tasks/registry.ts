import { pathToFileURL } from 'node:url';

import { z } from 'zod';

import { DataboxError } from '../../errors.js';
import { SHA256_HEX } from '../udf/limits.js';
import { BUILTINS, type DiagnosticName, type Task } from './builtins.js';

/**
 * The task registry: the engine runs tasks it knows only by name. Four diagnostic built-ins live here;
 * every other task comes from a *task package*, a module that exports `tasks` (a record of handlers by
 * name), registered with the names it answers to. The Jobman checks a job's task against the names
 * without loading anything; a worker imports a package the first time one of its tasks runs (or while
 * idle, see `preload`). Packages reach the workers through their Taskman's options, never from a job.
 */

/** A package of worker tasks: the names it answers to (as `builtin:<name>`) and the module that runs them. */
export interface TaskPackage {
  /** Task names, without the `builtin:` prefix. */
  names: readonly string[];
  /**
   * A file URL (or absolute path) of an ES module exporting `tasks: Record<string, Task>`, and optionally
   * `warm(): Promise<void>`, which a worker calls while idle (to start threads, fill caches).
   */
  module: string;
  /**
   * A file URL (or absolute path) of a light ES module exporting `access: TaskAccess`, which says what a
   * subtask of these tasks reads and writes. The Jobman imports it (never `module`) to refuse at submit a
   * job naming storage its allow-lists refuse; without it, only the workers check.
   */
  access?: string;
}

/** What one subtask of a task reads and writes: storage URLs or absolute paths. */
export interface TaskStorageUse {
  read: string[];
  write: string[];
}

/** A task package's `access` export: the storage one subtask uses, from its input and the job's args. */
export type TaskAccess = (task: string, input: unknown, args: unknown) => TaskStorageUse;

interface PackageModule {
  tasks: Record<string, Task>;
  warm?: () => Promise<void> | void;
}

/** The names of the diagnostic built-ins, always present. */
export const DIAGNOSTIC_TASKS: readonly DiagnosticName[] = Object.keys(BUILTINS) as DiagnosticName[];

/** What a job's `task` names: a registered task, or an RS-UDF bundle uploaded under its SHA-256. */
export type TaskName = { kind: 'builtin'; name: string } | { kind: 'udf'; sha256: string };

export class UnknownTaskError extends DataboxError {
  constructor(task: string, known: readonly string[]) {
    super('ERR_UNKNOWN_TASK', `Unknown task "${task}": a task is udf:<sha256 of an uploaded bundle> or one of the built-ins ${known.map((n) => `builtin:${n}`).join(', ')}`);
  }
}

const packageSchema = z.strictObject({ names: z.array(z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, 'must be a lower-case task name')).min(1), module: z.string().min(1), access: z.string().min(1).optional() });
const packagesSchema = z.array(packageSchema);

/** The environment variable that carries a Taskman's packages to its workers (JSON). */
export const TASK_PACKAGES_ENV = 'DATABOX_TASK_PACKAGES';

export class TaskRegistry {
  private readonly moduleOf = new Map<string, string>();
  private readonly accessModuleOf = new Map<string, string>();
  private readonly loaded = new Map<string, Promise<PackageModule>>();
  private readonly accessLoaded = new Map<string, Promise<TaskAccess>>();

  constructor(packages: readonly TaskPackage[] = []) {
    for (const p of packagesSchema.parse(packages)) {
      for (const name of p.names) {
        if ((DIAGNOSTIC_TASKS as readonly string[]).includes(name) || this.moduleOf.has(name)) {
          throw new DataboxError('ERR_OPTIONS', `Task name ${name} is registered twice (by ${p.module})`);
        }
        this.moduleOf.set(name, p.module.startsWith('file:') ? p.module : pathToFileURL(p.module).href);
        if (p.access !== undefined) this.accessModuleOf.set(name, p.access.startsWith('file:') ? p.access : pathToFileURL(p.access).href);
      }
    }
  }

  /** The registry a worker process was given by its Taskman. */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): TaskRegistry {
    const raw = env[TASK_PACKAGES_ENV];
    if (raw === undefined || raw === '') return new TaskRegistry();
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw new DataboxError('ERR_OPTIONS', `${TASK_PACKAGES_ENV} must be JSON (got ${raw.slice(0, 80)})`);
    }
    return new TaskRegistry(packagesSchema.parse(parsed));
  }

  /** Every task name, diagnostic ones first. */
  get names(): string[] {
    return [...DIAGNOSTIC_TASKS, ...this.moduleOf.keys()];
  }

  /** The packages, as `fromEnv` reads them back. */
  get packages(): TaskPackage[] {
    const byModule = new Map<string, string[]>();
    for (const [name, module] of this.moduleOf) byModule.set(module, [...(byModule.get(module) ?? []), name]);
    return [...byModule].map(([module, names]) => {
      const access = this.accessModuleOf.get(names[0]!);
      return { names, module, ...(access !== undefined ? { access } : {}) };
    });
  }

  /**
   * The storage a registered task's subtasks use, from its package's `access` module (imported on first
   * use); undefined for a task whose package has none, and for the diagnostic built-ins, which use none.
   */
  async access(name: string): Promise<TaskAccess | undefined> {
    const module = this.accessModuleOf.get(name);
    if (module === undefined) return undefined;
    let pending = this.accessLoaded.get(module);
    if (pending === undefined) {
      pending = (import(module) as Promise<{ access?: unknown }>).then((m) => {
        if (typeof m.access !== 'function') throw new DataboxError('ERR_UNKNOWN_TASK', `Task access module ${module} has no \`access\` function export`);
        return m.access as TaskAccess;
      });
      pending.catch(() => this.accessLoaded.delete(module));
      this.accessLoaded.set(module, pending);
    }
    return pending;
  }

  /** Parses a job's task name; UnknownTaskError names what is accepted. */
  parse(task: string): TaskName {
    if (task.startsWith('builtin:')) {
      const name = task.slice('builtin:'.length);
      if ((DIAGNOSTIC_TASKS as readonly string[]).includes(name) || this.moduleOf.has(name)) return { kind: 'builtin', name };
    } else if (task.startsWith('udf:')) {
      const sha256 = task.slice('udf:'.length);
      if (SHA256_HEX.test(sha256)) return { kind: 'udf', sha256 };
    }
    throw new UnknownTaskError(task, this.names);
  }

  /** The handler of a built-in or registered task, importing its package on first use. */
  async load(name: string): Promise<Task> {
    const diagnostic = BUILTINS[name as DiagnosticName];
    if (diagnostic !== undefined) return diagnostic;
    const module = this.moduleOf.get(name);
    if (module === undefined) throw new UnknownTaskError(`builtin:${name}`, this.names);
    const { tasks } = await this.importPackage(module);
    const task = tasks[name];
    if (typeof task !== 'function') throw new DataboxError('ERR_UNKNOWN_TASK', `Task package ${module} registers ${name} but its \`tasks\` export has no such function`);
    return task;
  }

  /**
   * Imports every package now and lets each warm up: a worker does this while idle, so the first subtask
   * of a fresh cluster runs as fast as the second.
   */
  async preload(): Promise<void> {
    await Promise.all([...new Set(this.moduleOf.values())].map(async (m) => (await this.importPackage(m)).warm?.()));
  }

  private importPackage(module: string): Promise<PackageModule> {
    let pending = this.loaded.get(module);
    if (pending === undefined) {
      pending = (import(module) as Promise<{ tasks?: unknown; warm?: unknown }>).then((m) => {
        if (typeof m.tasks !== 'object' || m.tasks === null) throw new DataboxError('ERR_UNKNOWN_TASK', `Task package ${module} has no \`tasks\` export`);
        return { tasks: m.tasks as Record<string, Task>, ...(typeof m.warm === 'function' ? { warm: m.warm as () => Promise<void> } : {}) };
      });
      pending.catch(() => this.loaded.delete(module));
      this.loaded.set(module, pending);
    }
    return pending;
  }
}
