import { realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';

import { z } from 'zod';

import { DataboxError } from '../../errors.js';
import { StorageError } from '../errors.js';
import { parseStorageUrl } from '../url.js';
import { bareHost, restrictedHost } from './addresses.js';
import { InvalidAccessRuleError, parseRule, segments, underPath, underSegments, type AccessRule } from './rules.js';

/**
 * Storage allow-lists: which URLs the tasks of a cluster may read and write. The operator sets them on
 * the Jobman (`--allow-read`, `--allow-write`); every worker installs them (`setAccessPolicy`) before it
 * runs anything, and every storage entry point (openSource, openSink, list, removeObject, checkWritable)
 * asks `checkAccess` first. A process with no policy installed (library use, a local command) may reach
 * anything, as before.
 *
 * - Local paths are made absolute and normalised (`..` cannot climb out), then symlinks are resolved (a
 *   path not there yet: the real path of its deepest existing folder, plus the rest) before the match,
 *   so a link inside an allowed folder that points outside it is refused.
 * - Matching is by whole segments: `/data` allows `/data/x` and never `/data2`.
 * - Link-local addresses and cloud metadata services are refused for HTTP(S) and S3 endpoints, even
 *   under `*`, unless a rule names that very host; the HTTP client checks again at connect time, with
 *   the address the name resolved to (see http/agent.ts), so DNS cannot smuggle one in.
 */

export type Access = 'read' | 'write';

/** The rules as the operator gave them: what travels from the Jobman to every node. */
export interface AccessRules {
  read: string[];
  write: string[];
  /**
   * Absolute local paths refused whatever the rules allow, `*` included: the Jobman's own credentials and
   * job store, which a default rule (its home) would otherwise open to every job.
   */
  deny?: string[];
}

export const accessRulesSchema = z.strictObject({
  read: z.array(z.string().max(4096)).max(1000),
  write: z.array(z.string().max(4096)).max(1000),
  deny: z.array(z.string().max(4096)).max(1000).optional(),
});

/** The environment variable that carries a Taskman's policy to its workers (JSON AccessRules). */
export const ACCESS_POLICY_ENV = 'DATABOX_STORAGE_POLICY';

const FLAG: Record<Access, string> = { read: '--allow-read', write: '--allow-write' };

/** A URL the policy does not allow. Never retryable: the rules will not change under a running task. */
export class AccessDeniedError extends StorageError {
  constructor(url: string, message: string) {
    super('ERR_STORAGE_DENIED', url, message);
  }
}

export class AccessPolicy {
  private readonly rules: Record<Access, AccessRule[]>;

  /**
   * @param resolveLinks resolve symlinks of local paths, in the rules and in what is checked (a node
   *   enforcing the policy); false checks the path as written (the Jobman, whose file system may not be
   *   the workers')
   * @throws InvalidAccessRuleError naming the first bad rule
   */
  constructor(
    readonly given: AccessRules,
    private readonly resolveLinks = true,
  ) {
    const parse = (text: string): AccessRule => {
      const rule = parseRule(text);
      return rule.kind === 'file' && resolveLinks ? { ...rule, path: realPath(rule.path) } : rule;
    };
    this.rules = { read: given.read.map(parse), write: given.write.map(parse) };
    this.denied = (given.deny ?? []).map((path) => {
      if (!isAbsolute(path)) throw new InvalidAccessRuleError(path, 'a denied path must be absolute');
      return resolveLinks ? realPath(path) : resolve(path);
    });
  }

  private readonly denied: string[];

  /** The policy a worker's Taskman passed in ACCESS_POLICY_ENV, or undefined when there is none. */
  static fromEnv(env: NodeJS.ProcessEnv = process.env): AccessPolicy | undefined {
    const raw = env[ACCESS_POLICY_ENV];
    if (raw === undefined || raw === '') return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw new DataboxError('ERR_OPTIONS', `${ACCESS_POLICY_ENV} must be JSON {"read":[...],"write":[...]} (got ${raw.slice(0, 80)})`);
    }
    return new AccessPolicy(accessRulesSchema.parse(parsed));
  }

  /** Throws AccessDeniedError unless `url` may be read (or written). */
  check(url: string, access: Access): void {
    const why = this.refusal(url, access);
    if (why !== undefined) throw new AccessDeniedError(url, why);
  }

  /** Why `url` may not be read (or written), naming the rules and how to allow it; undefined when allowed. */
  refusal(url: string, access: Access): string | undefined {
    const location = parseStorageUrl(url);
    const rules = this.rules[access];
    const flag = FLAG[access];
    // Only a refusal pays for its message.
    const existing = (): string => (rules.length === 0 ? `there are no ${flag} rules` : `the ${flag} rules are ${rules.map((r) => r.text).join(', ')}`);
    switch (location.kind) {
      case 'file': {
        const path = this.resolveLinks ? realPath(location.path) : location.path;
        if (this.denied.some((d) => underPath(path, d))) {
          return `Storage access denied: cannot ${access} ${url}: the Jobman keeps its credentials and job store there, which no task may ${access}`;
        }
        if (rules.some((r) => r.kind === 'all' || (r.kind === 'file' && underPath(path, r.path)))) return undefined;
        const real = path === location.path ? '' : ` (really ${path}, once links are resolved)`;
        return `Storage access denied: cannot ${access} ${url}${real}: ${existing()}; the operator allows it with ${flag} ${dirname(path)} on the Jobman`;
      }
      case 's3': {
        const key = segments(location.key);
        // S3 keys are not paths, but some S3-compatible servers resolve dot segments: never let one climb.
        const climbs = key.some((s) => s === '.' || s === '..');
        if (rules.some((r) => r.kind === 'all' || (r.kind === 's3' && !climbs && r.bucket === location.bucket && underSegments(key, r.prefix)))) return undefined;
        return `Storage access denied: cannot ${access} ${url}: ${existing()}; the operator allows it with ${flag} s3://${location.bucket}/${key.slice(0, -1).join('/')} on the Jobman`;
      }
      case 'http': {
        const target = new URL(location.href);
        const host = target.hostname.toLowerCase();
        const restricted = restrictedHost(host);
        const path = segments(target.pathname);
        const named = (r: AccessRule): boolean => r.kind === 'http' && r.protocol === target.protocol && r.host === host && r.port === target.port && underSegments(path, r.prefix);
        if (restricted !== undefined) {
          if (rules.some(named)) return undefined;
          return `Storage access denied: cannot ${access} ${url}: ${bareHost(host)} is ${restricted}, refused unless a rule names that host (${existing()}); the operator allows it with ${flag} ${target.origin}/ on the Jobman`;
        }
        if (rules.some((r) => r.kind === 'all' || named(r))) return undefined;
        return `Storage access denied: cannot ${access} ${url}: ${existing()}; the operator allows it with ${flag} ${target.origin}${target.pathname.slice(0, target.pathname.lastIndexOf('/') + 1)} on the Jobman`;
      }
    }
  }

  /**
   * Why connecting to `host` (a name, and the address it resolved to) is refused, or undefined. A host
   * that is or resolves to a link-local or metadata address must be named by a read or write rule.
   */
  connectRefusal(host: string, address?: string): string | undefined {
    const restricted = restrictedHost(host) ?? (address === undefined ? undefined : restrictedHost(address));
    if (restricted === undefined) return undefined;
    const h = bareHost(host);
    if ([...this.rules.read, ...this.rules.write].some((r) => r.kind === 'http' && bareHost(r.host) === h)) return undefined;
    const what = address !== undefined && address !== h ? `${h} resolves to ${address}, ${restricted}` : `${h} is ${restricted}`;
    return `Storage access denied: ${what}, refused unless an --allow-read or --allow-write rule names the host ${h}`;
  }
}

/**
 * The real path of `path` (absolute): symlinks resolved. A path not there yet gets the real path of its
 * deepest existing ancestor with the missing rest appended, which is where a write would land.
 */
export function realPath(path: string): string {
  const rest: string[] = [];
  let at = resolve(path);
  for (;;) {
    try {
      const real = realpathSync.native(at);
      return rest.length === 0 ? real : join(real, ...rest.reverse());
    } catch {
      const parent = dirname(at);
      if (parent === at) return resolve(path);
      rest.push(basename(at));
      at = parent;
    }
  }
}

let installed: AccessPolicy | undefined;

/** Installs the process-wide policy (undefined removes it: everything allowed). */
export function setAccessPolicy(policy: AccessPolicy | undefined): void {
  installed = policy;
}

/** The process-wide policy, undefined when none is installed. */
export function accessPolicy(): AccessPolicy | undefined {
  return installed;
}

/** Throws AccessDeniedError when a policy is installed and does not allow `url` for `access`. */
export function checkAccess(url: string, access: Access): void {
  installed?.check(url, access);
}
