import { AccessDeniedError, type Access, type AccessPolicy } from '../../storage/index.js';
import type { JobSpec, JsonValue } from '../store/index.js';
import type { TaskName, TaskRegistry } from '../tasks/registry.js';

/** Checks made between two yields to the event loop, so a job of millions of inputs never stalls heartbeats. */
const CHECKS_PER_TURN = 20_000;

/** What storage a UDF's string may name: a URL of a scheme storage opens, or an absolute path. */
const STORAGE_STRING = /^(?:file:|https?:\/\/|s3:\/\/|\/)/i;

/**
 * Refuses at submit a job that names storage the Jobman's allow-lists refuse, with the ERR_STORAGE_DENIED
 * (HTTP 403) of the first such URL, naming it and the rules. The check is on the strings as written (the
 * Jobman's file system need not be the workers'); each worker checks again, with symlinks resolved.
 *
 * - A registered task whose package has an `access` module: what that module says each input reads and
 *   writes.
 * - An RS-UDF: every string in its inputs and args that is a URL (file:, http(s)://, s3://) or an
 *   absolute path counts as a read; a UDF reads storage only through ctx.open.
 * - Diagnostic built-ins touch no storage.
 *
 * The work is linear in the job's size, each distinct URL is checked once, and it yields every
 * CHECKS_PER_TURN checks.
 */
export async function checkJobStorage(policy: AccessPolicy, tasks: TaskRegistry, task: TaskName, spec: JobSpec): Promise<void> {
  const seen: Record<Access, Set<string>> = { read: new Set(), write: new Set() };
  let work = 0;
  const check = (url: string, access: Access): void => {
    work++;
    if (seen[access].has(url)) return;
    seen[access].add(url);
    let why: string | undefined;
    try {
      why = policy.refusal(url, access);
    } catch {
      // Not a URL storage could open (`s3://bucket` without a key): nothing this check guards; the
      // worker names the problem if the task ever opens it.
      return;
    }
    if (why !== undefined) throw new AccessDeniedError(url, why);
  };
  const inputs: Iterable<JsonValue> = typeof spec.inputs === 'number' ? [] : spec.inputs;
  let visit: (input: JsonValue) => void;
  if (task.kind === 'udf') {
    const strings = (v: JsonValue | undefined): void => {
      if (typeof v === 'string') {
        if (STORAGE_STRING.test(v)) check(v, 'read');
      } else if (Array.isArray(v)) {
        for (const x of v) strings(x);
      } else if (typeof v === 'object' && v !== null) {
        for (const x of Object.values(v)) strings(x);
      }
    };
    strings(spec.args);
    visit = strings;
  } else {
    const access = await tasks.access(task.name);
    if (access === undefined) return;
    visit = (input) => {
      const use = access(task.name, input, spec.args);
      for (const url of use.read) check(url, 'read');
      for (const url of use.write) check(url, 'write');
    };
  }
  let yielded = 0;
  for (const input of inputs) {
    visit(input);
    if (++work - yielded >= CHECKS_PER_TURN) {
      yielded = work;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}
