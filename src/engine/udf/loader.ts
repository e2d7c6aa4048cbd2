import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { lstat, mkdtemp, readFile, realpath, rename, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { threadId } from 'node:worker_threads';

import { DataboxError } from '../../errors.js';
import { ensureDirectory, writeAll } from '../../storage/index.js';
import { isUdf, type Udf } from './define.js';
import { SHA256_HEX } from './limits.js';

/**
 * Loading RS-UDF bundles on a worker: `cacheDir/udfs/<sha256>.mjs` holds each bundle, checked against its
 * name before every first import; `cacheDir/node_modules/databox-mr` links to this installation, so the
 * bare `databox-mr` import every bundle keeps resolves to the worker's own copy; and native packages a
 * bundle left out are linked in from beside this installation when they are installed there.
 */

export const LoaderErrorCode = {
  /** A bundle's bytes do not hash to its name, or the name is not a SHA-256. */
  hash: 'ERR_UDF_HASH',
  /** The bundle's default export was not made by `defineUdf`. */
  notAUdf: 'ERR_UDF_NOT_A_UDF',
  /** The bundle imports a package this machine does not have. */
  missingPackage: 'ERR_UDF_MISSING_PACKAGE',
  /** Importing the bundle threw, or the cache could not be set up. */
  load: 'ERR_UDF_LOAD',
} as const;

export class UdfHashError extends DataboxError {
  constructor(message: string) {
    super(LoaderErrorCode.hash, message);
  }
}

export class UdfNotAUdfError extends DataboxError {
  constructor(what: string, found: string) {
    super(LoaderErrorCode.notAUdf, `The default export of ${what} is ${found}, not a UDF made by defineUdf; end the module with \`export default defineUdf({ map(input, ctx) { ... } })\``);
  }
}

export class UdfMissingPackageError extends DataboxError {
  constructor(
    /** The package that could not be found. */
    readonly packageName: string,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(LoaderErrorCode.missingPackage, message, options);
  }
}

/** Importing the bundle threw: the message carries the original one, and the stack the original stack. */
export class UdfLoadError extends DataboxError {
  constructor(message: string, cause?: unknown) {
    super(LoaderErrorCode.load, message, cause === undefined ? {} : { cause });
    const stack = cause instanceof Error ? cause.stack : undefined;
    if (stack !== undefined) this.stack = `${this.stack ?? `${this.name}: ${message}`}\nCaused by: ${stack}`;
  }
}

export interface LoadUdfOptions {
  /** Directory of the bundle cache; `udfs/` and `node_modules/` are made inside it. */
  cacheDir: string;
  /** Fetches the bundle named `sha256` when the cache lacks it (from the Jobman). */
  fetchBundle: (sha256: string) => Promise<Uint8Array>;
  /** This worker's node name, for messages. */
  node: string;
}

interface LoadPlan {
  cacheDir: string;
  fetchBundle: (sha256: string) => Promise<Uint8Array>;
  /** Where messages say the UDF runs: `node n1`, `this machine`. */
  place: string;
  /** What messages call the bundle. */
  what: string;
  /** Directories to find left-out packages from, before this installation. */
  packageDirs: string[];
}

/** Loads per cache directory and bundle, so each is imported once per process (thread). */
const loaded = new Map<string, Promise<Udf>>();
/** Imports tried per cache directory and bundle: a retry imports a fresh URL, since Node keeps a failed import's error. */
const tries = new Map<string, number>();

/**
 * The UDF in bundle `sha256`: from `cacheDir` when there, else fetched with `fetchBundle`, checked
 * against its hash, and cached. Memoised per process; a failed load is tried afresh by the next call.
 */
export function loadUdf(sha256: string, options: LoadUdfOptions): Promise<Udf> {
  return load(sha256, {
    cacheDir: resolve(options.cacheDir),
    fetchBundle: options.fetchBundle,
    place: `node ${options.node}`,
    what: `UDF bundle ${sha256}`,
    packageDirs: [],
  });
}

export interface CheckBundleOptions {
  /** A directory to cache the bundle in while it is checked. @defaultValue a temp dir of this process's own, removed when it exits */
  tmpDir?: string;
  /** Where to find packages the bundle left out (native addons), such as the UDF module's directory. @defaultValue none */
  resolveFrom?: string;
}

/**
 * Imports a bundle once on this machine, before it is uploaded, and returns its UDF: the same checks,
 * the same errors as a worker's `loadUdf`. Runs the module's top-level code here.
 */
export async function checkBundle(code: Uint8Array, options: CheckBundleOptions = {}): Promise<Udf> {
  const sha256 = sha256Of(code);
  // A temp dir of this call's own (a shared, well-known one could hold another user's links under
  // node_modules), removed once the bundle is imported: the check needs only its default export.
  const own = options.tmpDir === undefined ? await mkdtemp(join(tmpdir(), 'databox-udf-check-')) : undefined;
  try {
    return await load(sha256, {
      cacheDir: resolve(options.tmpDir ?? own!),
      fetchBundle: () => Promise.resolve(code),
      place: 'this machine',
      what: `the UDF bundle ${sha256}`,
      packageDirs: options.resolveFrom === undefined ? [] : [resolve(options.resolveFrom)],
    });
  } finally {
    if (own !== undefined) await rm(own, { recursive: true, force: true });
  }
}

/** Lowercase hex SHA-256 of `bytes`: a bundle's name. */
export function sha256Of(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function load(sha256: string, plan: LoadPlan): Promise<Udf> {
  if (!SHA256_HEX.test(sha256)) return Promise.reject(new UdfHashError(`"${sha256}" is not a UDF bundle name (64 lowercase hex digits of SHA-256)`));
  const key = `${plan.cacheDir}\0${sha256}`;
  let loading = loaded.get(key);
  if (loading === undefined) {
    const attempt = (tries.get(key) ?? 0) + 1;
    tries.set(key, attempt);
    loading = loadOnce(sha256, plan, attempt);
    const settled = loading;
    loaded.set(key, settled);
    settled.catch(() => {
      if (loaded.get(key) === settled) loaded.delete(key);
    });
  }
  return loading;
}

async function loadOnce(sha256: string, plan: LoadPlan, attempt: number): Promise<Udf> {
  const file = join(plan.cacheDir, 'udfs', `${sha256}.mjs`);
  const code = await cachedBundle(sha256, file, plan);
  await linkPackage(plan.cacheDir, 'databox-mr', packageRoot());
  const natives = nativePackagesOf(code);
  for (const name of natives) await provide(name, file, plan);

  // Node keeps a failed import's error under its URL, so a retry needs a URL of its own.
  const url = pathToFileURL(file).href + (attempt > 1 ? `?try=${attempt}` : '');
  let module: Record<string, unknown>;
  try {
    module = (await import(url)) as Record<string, unknown>;
  } catch (err) {
    throw importError(err, file, natives, plan);
  }
  const udf = module.default;
  if (!isUdf(udf)) throw new UdfNotAUdfError(plan.what, describeExport(module));
  return udf;
}

/** The bundle's bytes from the cache, fetching them (once) when missing or corrupt; always checked against `sha256`. */
async function cachedBundle(sha256: string, file: string, plan: LoadPlan): Promise<Uint8Array> {
  let fetched = false;
  while (true) {
    const cached = await readFile(file).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw new UdfLoadError(`Cannot read the cached ${plan.what} at ${file}: ${err.message}`, err);
    });
    const got = cached === undefined ? undefined : sha256Of(cached);
    if (cached !== undefined && got === sha256) return cached;
    if (fetched) throw new UdfHashError(`The cached ${plan.what} at ${file} hashes to ${got ?? '(missing)'} right after it was written; the disk under ${plan.cacheDir} may be failing`);
    const bytes = await plan.fetchBundle(sha256);
    fetched = true;
    const fetchedHash = sha256Of(bytes);
    if (fetchedHash !== sha256) throw new UdfHashError(`The ${plan.what} fetched on ${plan.place} hashes to ${fetchedHash}, not ${sha256}; refusing to run it`);
    await writeAtomically(file, bytes);
  }
}

/** Writes the bundle through the storage layer's file sink: a temp file renamed over, so readers see all or none. */
async function writeAtomically(file: string, bytes: Uint8Array): Promise<void> {
  try {
    // The node's own cache, not storage a job names: the allow-lists do not apply.
    await writeAll(file, bytes, { trusted: true });
  } catch (err) {
    throw new UdfLoadError(`Cannot write ${file}: ${(err as Error).message}`, err);
  }
}

/** Unique among processes and their threads writing the same cache. */
function uniqueSuffix(): string {
  return `${process.pid}-${threadId}-${randomBytes(4).toString('hex')}`;
}

/**
 * Makes `cacheDir/node_modules/<name>` a link to `target`. Idempotent, and safe when processes race: the
 * link is made under a temp name and renamed into place, which replaces a stale link in one step.
 */
async function linkPackage(cacheDir: string, name: string, target: string): Promise<void> {
  const link = join(cacheDir, 'node_modules', name);
  const real = await realpath(target);
  if (await linksTo(link, real)) return;
  await ensureDirectory(dirname(link));
  const tmp = `${link}.${uniqueSuffix()}.tmp`;
  try {
    // 'junction' makes a directory link on Windows without admin rights; POSIX ignores it.
    await symlink(real, tmp, 'junction');
    await rename(tmp, link);
  } catch (err) {
    await rm(tmp, { force: true });
    if (await linksTo(link, real)) return;
    const isDir = await lstat(link).then((s) => s.isDirectory(), () => false);
    const why = isDir ? 'a directory is in the way; remove it' : (err as Error).message;
    throw new UdfLoadError(`Cannot link ${link} to ${real}: ${why}`, err);
  }
}

async function linksTo(link: string, real: string): Promise<boolean> {
  try {
    return (await lstat(link)).isSymbolicLink() && (await realpath(link)) === real;
  } catch {
    return false;
  }
}

/**
 * Makes the left-out package `name` importable from the bundle at `file`: nothing to do when Node
 * already finds it (in the cache's `node_modules` or above), else a link to where it is installed in
 * `plan.packageDirs` or beside this installation of databox-mr.
 */
async function provide(name: string, file: string, plan: LoadPlan): Promise<void> {
  if (findPackage(name, dirname(file)) !== undefined) return;
  for (const dir of [...plan.packageDirs, packageRoot()]) {
    const found = findPackage(name, dir);
    if (found !== undefined) return linkPackage(plan.cacheDir, name, found);
  }
  throw missingPackage(name, true, plan);
}

function missingPackage(name: string, native: boolean, plan: LoadPlan, cause?: unknown): UdfMissingPackageError {
  const kind = native ? 'a native addon that cannot be bundled' : 'which its bundle does not contain';
  return new UdfMissingPackageError(
    name,
    `Cannot load ${plan.what}: the UDF needs the package "${name}", ${kind}, and it is not installed on ${plan.place}; ` +
      `install it where Node finds it from ${packageRoot()} (beside databox-mr) or under ${plan.cacheDir}`,
    cause === undefined ? {} : { cause },
  );
}

/** Turns what `import()` threw into a missing package or a load error. */
function importError(err: unknown, file: string, natives: string[], plan: LoadPlan): DataboxError {
  const e = err as NodeJS.ErrnoException | undefined;
  const message = e instanceof Error ? e.message : String(err);
  // ESM: "Cannot find package 'x' imported from <bundle>"; require() in a bundled CommonJS part:
  // "Cannot find module 'x'\nRequire stack:\n- <bundle>". Only the bundle's own imports are the UDF's doing.
  const missing =
    e?.code === 'ERR_MODULE_NOT_FOUND' ? /Cannot find package '([^']+)'/.exec(message) : e?.code === 'MODULE_NOT_FOUND' ? /Cannot find module '([^']+)'/.exec(message) : null;
  const name = missing?.[1] === undefined || !message.includes(file) ? undefined : packageName(missing[1]);
  if (name !== undefined) return missingPackage(name, natives.includes(name), plan, err);
  const hint = e?.code === 'ERR_MODULE_NOT_FOUND' && message.includes(join(packageRoot(), 'dist')) ? ' (this databox-mr is not built: run npm run build in it)' : '';
  return new UdfLoadError(`Cannot load ${plan.what} on ${plan.place}: importing it threw ${e instanceof Error ? `${e.name}: ` : ''}${message}${hint}`, err);
}

function describeExport(module: Record<string, unknown>): string {
  if (!('default' in module)) {
    const names = Object.keys(module);
    return names.length === 0 ? 'missing (the module exports nothing)' : `missing (the module exports only ${names.join(', ')})`;
  }
  const value = module.default;
  if (value === null) return 'null';
  if (typeof value === 'function') return `a function${value.name ? ` (${value.name})` : ''}`;
  if (typeof value !== 'object') return `the ${typeof value} ${String(value).slice(0, 40)}`;
  if (Array.isArray(value)) return `an array of ${value.length}`;
  const keys = Object.keys(value);
  return `a plain object with ${keys.length === 0 ? 'no keys' : `keys ${keys.join(', ')}`} (made without defineUdf)`;
}

/** The first line of every bundle; bundleUdf writes it and the loader reads it before importing. */
export const BUNDLE_HEADER = '// databox-mr udf bundle';

/** The native packages a bundle's header lists (`// databox-mr udf bundle; native: a, b`), or none. */
export function nativePackagesOf(code: Uint8Array): string[] {
  const head = Buffer.from(code.buffer, code.byteOffset, Math.min(code.byteLength, 4096)).toString('utf8');
  const match = /^\/\/ databox-mr udf bundle(?:; native: ([^\n]*))?\n/.exec(head);
  if (match?.[1] === undefined) return [];
  // Only names that are safe as paths under node_modules: the header is read before anything runs.
  return match[1]
    .split(',')
    .map((name) => name.trim())
    .filter((name) => packageName(name) === name);
}

/** npm package names, loosely: what may safely become a directory name under node_modules. */
const PACKAGE_NAME = /^(?:@[a-z0-9~-][\w.~-]*\/)?[a-z0-9~-][\w.~-]*$/i;

/** `@scope/name` or `name` of a bare specifier (`proj4`, `@s/pkg/sub/path.js`), or undefined when it is not one. */
export function packageName(specifier: string): string | undefined {
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  return name !== undefined && PACKAGE_NAME.test(name) ? name : undefined;
}

/** The directory of package `name` as Node finds it from `fromDir`: the nearest `node_modules/<name>`. */
export function findPackage(name: string, fromDir: string): string | undefined {
  for (let dir = resolve(fromDir); ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

let root: string | undefined;

/**
 * The directory of this installation of databox-mr: the nearest package.json named `databox-mr` above
 * this file, which sits in `dist/engine/udf/` when built and in `src/engine/udf/` when run from source.
 */
export function packageRoot(): string {
  if (root !== undefined) return root;
  const here = fileURLToPath(import.meta.url);
  for (let dir = dirname(here); ; dir = dirname(dir)) {
    try {
      if ((JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown }).name === 'databox-mr') return (root = dir);
    } catch {
      // No package.json here, or not JSON: keep looking up.
    }
    if (dirname(dir) === dir) throw new UdfLoadError(`Cannot find the databox-mr package above ${here}`);
  }
}
