import { isAbsolute, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

import { DataboxError } from '../../errors.js';

/**
 * One allow-list rule, parsed: a local path prefix, an S3 bucket and key prefix, an HTTP(S) origin and
 * path prefix, or everything. Prefixes are lists of whole segments, so `/data` covers `/data/x` but never
 * `/data2`.
 */
export type AccessRule =
  | { kind: 'all'; text: string }
  | { kind: 'file'; text: string; /** Absolute, normalised; symlinks are resolved when a policy is made. */ path: string }
  | { kind: 's3'; text: string; bucket: string; prefix: string[] }
  | { kind: 'http'; text: string; protocol: 'http:' | 'https:'; /** Lower case, IPv6 in brackets. */ host: string; port: string; prefix: string[] };

/** A rule string that is not one of the accepted shapes; the message names it and says what is accepted. */
export class InvalidAccessRuleError extends DataboxError {
  constructor(rule: string, why: string) {
    super('ERR_ACCESS_RULE', `Invalid storage rule ${JSON.stringify(rule)}: ${why}; a rule is an absolute path, file:///path, s3://bucket[/prefix], http(s)://host[:port][/prefix], or * for everything`);
  }
}

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):/;
/** Rules are prefixes: a wildcard in one is a mistake, not a pattern. */
const GLOB = /[*?[\]{}]/;

/** Parses one rule string (see AccessRule). */
export function parseRule(text: string): AccessRule {
  if (text.trim() === '') throw new InvalidAccessRuleError(text, 'it is empty');
  if (text === '*') return { kind: 'all', text };
  const scheme = SCHEME.exec(text)?.[1]?.toLowerCase();
  if (scheme === undefined || (process.platform === 'win32' && /^[a-zA-Z]:[\\/]/.test(text))) {
    if (!isAbsolute(text)) throw new InvalidAccessRuleError(text, 'a path must be absolute');
    if (GLOB.test(text)) throw new InvalidAccessRuleError(text, 'rules are prefixes, not globs');
    return { kind: 'file', text, path: resolve(text) };
  }
  switch (scheme) {
    case 'file': {
      let path: string;
      try {
        path = fileURLToPath(text);
      } catch {
        throw new InvalidAccessRuleError(text, 'a file URL needs an absolute local path (file:///path)');
      }
      if (GLOB.test(path)) throw new InvalidAccessRuleError(text, 'rules are prefixes, not globs');
      return { kind: 'file', text, path: resolve(path) };
    }
    case 's3': {
      if (!text.startsWith('s3://')) throw new InvalidAccessRuleError(text, 'an S3 rule is s3://bucket[/prefix]');
      const rest = text.slice('s3://'.length);
      const slash = rest.indexOf('/');
      const bucket = slash < 0 ? rest : rest.slice(0, slash);
      if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/.test(bucket)) throw new InvalidAccessRuleError(text, `"${bucket}" is not an S3 bucket name`);
      const prefix = slash < 0 ? [] : segments(rest.slice(slash + 1));
      if (prefix.some((s) => s === '.' || s === '..')) throw new InvalidAccessRuleError(text, 'a prefix may not hold . or .. segments');
      if (prefix.some((s) => GLOB.test(s))) throw new InvalidAccessRuleError(text, 'rules are prefixes, not globs');
      return { kind: 's3', text, bucket, prefix };
    }
    case 'http':
    case 'https': {
      let url: URL;
      try {
        url = new URL(text);
      } catch {
        throw new InvalidAccessRuleError(text, 'the URL does not parse');
      }
      if (url.hostname === '') throw new InvalidAccessRuleError(text, 'an HTTP rule needs a host');
      if (url.username !== '' || url.password !== '') throw new InvalidAccessRuleError(text, 'a rule holds no user name or password');
      if (url.search !== '' || url.hash !== '') throw new InvalidAccessRuleError(text, 'a rule is a prefix without ?query or #fragment');
      if (GLOB.test(url.hostname) || GLOB.test(decodeURIComponent(url.pathname))) throw new InvalidAccessRuleError(text, 'rules are prefixes, not globs');
      return { kind: 'http', text, protocol: url.protocol as 'http:' | 'https:', host: url.hostname.toLowerCase(), port: url.port, prefix: segments(url.pathname) };
    }
    default:
      throw new InvalidAccessRuleError(text, `the scheme "${scheme}:" is not one storage reads or writes`);
  }
}

/** The non-empty segments of a slash-separated path. */
export function segments(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}

/** True when `path` (absolute, normalised) is `prefix` or lies below it, segment by segment. */
export function underPath(path: string, prefix: string): boolean {
  if (path === prefix) return true;
  const base = prefix.endsWith(sep) ? prefix : prefix + sep;
  return path.startsWith(base);
}

/** True when `parts` starts with every segment of `prefix`. */
export function underSegments(parts: readonly string[], prefix: readonly string[]): boolean {
  if (prefix.length > parts.length) return false;
  return prefix.every((s, i) => parts[i] === s);
}
