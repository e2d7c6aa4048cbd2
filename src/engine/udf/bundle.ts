import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';

import { build, type BuildFailure, type Message, type Metafile, type Plugin } from 'esbuild';

import { DataboxError } from '../../errors.js';
import { MAX_BUNDLE_BYTES } from './limits.js';
import { BUNDLE_HEADER, findPackage, packageName } from './loader.js';
import { formatBytes } from './values.js';

export { MAX_BUNDLE_BYTES };

export const BundleErrorCode = {
  /** The entry is missing, or esbuild could not bundle it. */
  bundle: 'ERR_UDF_BUNDLE',
  /** The bundle is over its byte limit. */
  tooLarge: 'ERR_UDF_TOO_LARGE',
} as const;

export class UdfBundleError extends DataboxError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(BundleErrorCode.bundle, message, options);
  }
}

export class UdfTooLargeError extends DataboxError {
  constructor(
    /** The bundle's size, in bytes. */
    readonly bytes: number,
    /** The limit it broke, in bytes. */
    readonly limitBytes: number,
    message: string,
  ) {
    super(BundleErrorCode.tooLarge, message);
  }
}

export interface BundleOptions {
  /** Refuse a bundle larger than this many bytes. @defaultValue MAX_BUNDLE_BYTES (32 MiB) */
  maxBytes?: number;
}

/** A bundled RS-UDF module, ready to upload. */
export interface UdfBundle {
  /** The bundle: one ES module, UTF-8. */
  code: Uint8Array;
  /** Lowercase hex SHA-256 of `code`: the bundle's name everywhere. */
  sha256: string;
  /** `code.byteLength`. */
  bytes: number;
  /** Packages with native addons the bundle imports but does not contain, sorted; each worker must have them installed. */
  nativePackages: string[];
}

/**
 * Bundles the RS-UDF module `entry` (JavaScript or TypeScript) and everything it imports into one ES
 * module for Node 20, leaving out Node's built-ins, `databox-mr` itself (each worker imports its own
 * installation, so `defineUdf` and the worker agree) and packages with native addons (which cannot be
 * bundled; workers must have them installed).
 *
 * The output is not minified and carries no source map: stack traces from a worker then point at
 * readable code with the original file names in comments, without `--enable-source-maps` on every
 * worker, and an inline map would about double what each worker downloads. The same entry and the same
 * `node_modules` give the same bytes, whatever the current directory.
 */
export async function bundleUdf(entry: string, options: BundleOptions = {}): Promise<UdfBundle> {
  const maxBytes = options.maxBytes ?? MAX_BUNDLE_BYTES;
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) throw new RangeError(`options.maxBytes must be a positive integer (got ${String(options.maxBytes)})`);
  const path = resolve(entry);
  if (!existsSync(path) || !statSync(path).isFile()) throw new UdfBundleError(`The UDF module ${path} does not exist or is not a file`);

  // Paths in the output (comments, metafile) are relative to this directory, so it fixes them.
  const root = projectRootOf(path);
  const natives = new Set<string>();
  let result;
  try {
    result = await build({
      entryPoints: [path],
      absWorkingDir: root,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      write: false,
      metafile: true,
      logLevel: 'silent',
      // CommonJS dependencies call require() and read __dirname, which an ES module lacks; esbuild
      // renames any user binding that would clash with these names.
      banner: { js: BANNER },
      define: { __dirname: '__databox_dirname', __filename: '__databox_filename' },
      plugins: [externals(natives)],
    });
  } catch (err) {
    const errors = (err as Partial<BuildFailure>).errors;
    if (!Array.isArray(errors)) throw new UdfBundleError(`Cannot bundle the UDF module ${path}: ${(err as Error).message}`, { cause: err });
    throw new UdfBundleError(`Cannot bundle the UDF module ${path}:\n${formatMessages(errors, root)}`, { cause: err });
  }

  const output = result.outputFiles[0];
  if (output === undefined) throw new UdfBundleError(`esbuild produced no output for ${path}`);
  const nativePackages = [...natives].sort();
  const header = `${BUNDLE_HEADER}${nativePackages.length > 0 ? `; native: ${nativePackages.join(', ')}` : ''}\n`;
  // A hashbang must be a module's first line; in a bundle it would be a syntax error after the header.
  const body = output.text.startsWith('#!') ? output.text.slice(output.text.indexOf('\n') + 1) : output.text;
  const code = new Uint8Array(Buffer.from(header + body, 'utf8'));
  if (code.byteLength > maxBytes) {
    throw new UdfTooLargeError(
      code.byteLength,
      maxBytes,
      `The bundle of the UDF module ${path} is ${formatBytes(code.byteLength)}, over the ${formatBytes(maxBytes)} limit; ` +
        `its largest parts are ${largestInputs(result.metafile, 3)}. Import less (a subpath of a big package), or read big data at run time with ctx.open`,
    );
  }
  return { code, sha256: createHash('sha256').update(code).digest('hex'), bytes: code.byteLength, nativePackages };
}

const BANNER = [
  "import { createRequire as __databox_createRequire } from 'node:module';",
  "import { fileURLToPath as __databox_fileURLToPath } from 'node:url';",
  "import { dirname as __databox_dirnameOf } from 'node:path';",
  'const require = __databox_createRequire(import.meta.url);',
  'const __databox_filename = __databox_fileURLToPath(import.meta.url);',
  'const __databox_dirname = __databox_dirnameOf(__databox_filename);',
].join('\n');

/** Marks `databox-mr` and native-addon packages external, noting the latter in `natives`. */
function externals(natives: Set<string>): Plugin {
  const nativeDirs = new Map<string, boolean>();
  return {
    name: 'databox-udf-externals',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, (args) => {
        if (isAbsolute(args.path) || isBuiltin(args.path)) return undefined;
        const name = packageName(args.path);
        if (name === undefined) return undefined;
        if (name === 'databox-mr') return { path: args.path, external: true };
        const dir = findPackage(name, args.resolveDir);
        if (dir === undefined) return undefined;
        let native = nativeDirs.get(dir);
        if (native === undefined) nativeDirs.set(dir, (native = hasNativeAddon(dir)));
        if (!native) return undefined;
        natives.add(name);
        return { path: args.path, external: true };
      });
    },
  };
}

/** True when a package builds or ships a native addon: `binding.gyp`, `gypfile: true`, or a `.node` file. */
function hasNativeAddon(dir: string): boolean {
  if (existsSync(join(dir, 'binding.gyp'))) return true;
  try {
    if ((JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { gypfile?: unknown }).gypfile === true) return true;
  } catch {
    // An unreadable package.json is esbuild's to report.
  }
  return containsNodeFile(dir, 8);
}

function containsNodeFile(dir: string, depth: number): boolean {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return false;
  }
  for (const entry of entries) {
    if (entry.isFile() && entry.name.endsWith('.node')) return true;
  }
  if (depth === 0) return false;
  // A package's own dependencies are packages of their own, judged when imported.
  return entries.some((entry) => entry.isDirectory() && entry.name !== 'node_modules' && containsNodeFile(join(dir, entry.name), depth - 1));
}

/** The nearest directory above `file` with a package.json, else the file's own directory. */
function projectRootOf(file: string): string {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return dirname(file);
  }
}

/** `src/udf.ts:3:10: Expected ";" but found "x"` for the first few messages, then how many more. */
function formatMessages(messages: Message[], root: string, shown = 5): string {
  const lines = messages.slice(0, shown).map((m) => {
    const where = m.location ? `${displayPath(resolve(root, m.location.file))}:${m.location.line}:${m.location.column + 1}: ` : '';
    const source = m.location?.lineText ? `\n    ${m.location.lineText.trim()}` : '';
    return `  ${where}${m.text}${source}`;
  });
  if (messages.length > shown) lines.push(`  ...and ${messages.length - shown} more`);
  return lines.join('\n');
}

/** A path relative to the current directory when it lies below it, else absolute. */
function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

function largestInputs(metafile: Metafile | undefined, count: number): string {
  const output = metafile === undefined ? undefined : Object.values(metafile.outputs)[0];
  if (output === undefined) return 'unknown';
  return Object.entries(output.inputs)
    .sort((a, b) => b[1].bytesInOutput - a[1].bytesInOutput)
    .slice(0, count)
    .map(([file, info]) => `${file} (${formatBytes(info.bytesInOutput, false)})`)
    .join(', ');
}
