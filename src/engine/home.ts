import { randomBytes } from 'node:crypto';
import { chmod, open, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

import { DataboxError } from '../errors.js';
import { ensureDirectory } from '../storage/index.js';

/**
 * The engine's home directory (`--home`, default `~/.databox`): the Jobman's database and API token.
 */

/** The default Jobman URL clients use when neither `--jobman` nor `DATABOX_JOBMAN` is given. */
export const DEFAULT_JOBMAN_URL = 'http://127.0.0.1:7070';

export function resolveHome(dir?: string): string {
  return resolve(dir ?? join(homedir(), '.databox'));
}

export function tokenPath(home: string): string {
  return join(home, 'token');
}

/**
 * The secret in `HOME/<name>` (the API token, the read-only token, the node secret): made at random
 * (24 bytes, base64url) and written exclusively, mode 0600 in a 0700 directory, the first time; read
 * back afterwards. Two Jobmen starting at once cannot both write it.
 */
export async function ensureSecret(home: string, name: string): Promise<string> {
  await ensureDirectory(home, { mode: 0o700 });
  const path = join(home, name);
  const fresh = randomBytes(24).toString('base64url');
  try {
    const handle = await open(path, 'wx', 0o600);
    try {
      await handle.writeFile(`${fresh}\n`);
    } finally {
      await handle.close();
    }
    await chmod(path, 0o600); // the umask may have taken bits away; never added any
    return fresh;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return readSecretFile(path);
  }
}

/** A secret file's one line; a clear error when it does not hold one. */
export async function readSecretFile(path: string): Promise<string> {
  const token = (await readFile(path, 'utf8')).trim();
  if (!/^[A-Za-z0-9_\-.~+/=]{16,256}$/.test(token)) throw new DataboxError('ERR_BAD_TOKEN', `${path} does not hold a token (16-256 URL-safe characters on one line)`);
  return token;
}

/** The token a client sends: `DATABOX_TOKEN`, else `HOME/token`. A clear error when there is neither. */
export async function readToken(home: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const fromEnv = env.DATABOX_TOKEN?.trim();
  if (fromEnv) return fromEnv;
  const path = tokenPath(home);
  try {
    return await readSecretFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new DataboxError('ERR_NO_TOKEN', `No API token: set DATABOX_TOKEN, or start the Jobman with --home ${home} so it writes ${path}`);
    }
    throw err;
  }
}

/**
 * The PEM of the certificate authority to check an https Jobman against: the file `path` names (`--ca`),
 * else the one `DATABOX_CA` names, else undefined (the system's authorities).
 */
export async function readCa(path?: string, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const file = path ?? (env.DATABOX_CA?.trim() || undefined);
  if (file === undefined) return undefined;
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (err) {
    throw new DataboxError('ERR_OPTIONS', `Cannot read the CA certificate ${file} (${path !== undefined ? '--ca' : 'DATABOX_CA'}): ${(err as Error).message}`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new DataboxError('ERR_OPTIONS', `${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  return pem;
}

/** The Jobman URL a client uses: the option, else `DATABOX_JOBMAN`, else {@link DEFAULT_JOBMAN_URL}. */
export function resolveJobmanUrl(option: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const raw = option ?? (env.DATABOX_JOBMAN?.trim() || DEFAULT_JOBMAN_URL);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new DataboxError('ERR_OPTIONS', `--jobman must be an http(s) URL such as ${DEFAULT_JOBMAN_URL} (got ${JSON.stringify(raw)})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new DataboxError('ERR_OPTIONS', `--jobman must be an http(s) URL such as ${DEFAULT_JOBMAN_URL} (got ${JSON.stringify(raw)})`);
  return url.origin + url.pathname.replace(/\/+$/, '');
}
