import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';

import { DataboxError } from '../errors.js';
import { ensureSecret, readSecretFile } from './home.js';

/**
 * The credentials a Jobman accepts, each a bearer token with its own role:
 *
 * - the **API token** (`HOME/token`): clients; submits, cancels, reads, uploads UDFs, mints node tokens;
 * - the **read-only token** (`HOME/read-token`): dashboards and viewers; GET routes only;
 * - a **node token** per node (`node.<name>.<mac>`): one Taskman; only its own node's link routes and
 *   UDF bundle downloads. It is an HMAC of the node's name under the node secret (`HOME/node-secret`),
 *   so the Jobman keeps no list of them, and it is bound to that name.
 *
 * Workers and the UDFs in them hold none of these (their Taskman fetches what they need).
 */

export type Role = { kind: 'admin' } | { kind: 'read' } | { kind: 'node'; node: string };

/** Node names, as the API's schemas accept them. */
export const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export const READ_TOKEN_FILE = 'read-token';
export const NODE_SECRET_FILE = 'node-secret';

export function readTokenPath(home: string): string {
  return join(home, READ_TOKEN_FILE);
}

export function nodeSecretPath(home: string): string {
  return join(home, NODE_SECRET_FILE);
}

/** The node token of `node` under `secret`. */
export function mintNodeToken(secret: string, node: string): string {
  if (!NODE_NAME.test(node)) throw new DataboxError('ERR_OPTIONS', `A node name must be 1-63 letters, digits, ".", "_" or "-", starting with a letter or digit (got ${JSON.stringify(node)})`);
  return `node.${node}.${createHmac('sha256', secret).update(`databox node ${node}`).digest('base64url')}`;
}

/** The node a token claims to be for (not yet verified), or undefined when it is no node token. */
export function nodeOfToken(token: string): string | undefined {
  if (!token.startsWith('node.')) return undefined;
  const cut = token.lastIndexOf('.');
  const node = token.slice('node.'.length, cut);
  return cut > 'node.'.length && NODE_NAME.test(node) ? node : undefined;
}

/** The node token of `node` made from the node secret in `home`: for a Taskman on the Jobman's own machine. */
export async function nodeTokenFromHome(home: string, node: string): Promise<string> {
  const path = nodeSecretPath(home);
  try {
    return mintNodeToken(await readSecretFile(path), node);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    throw new DataboxError(
      'ERR_NO_TOKEN',
      `No node token for node ${node}: ${path} does not exist. Start the Jobman with --home ${home} so it writes it, or run ` +
        `\`databox node-token ${node}\` where the Jobman runs and give the token to this Taskman with --node-token-file or DATABOX_NODE_TOKEN`,
    );
  }
}

/** SHA-256 of a token: what is compared, so the comparison takes the same time whatever the lengths. */
function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/** The Jobman's side: the secrets from its home, and who a bearer token is. */
export class Credentials {
  private readonly admin: Buffer;
  private readonly read: Buffer;

  private constructor(
    readonly adminToken: string,
    readonly readToken: string,
    private readonly nodeSecret: string,
  ) {
    this.admin = digest(adminToken);
    this.read = digest(readToken);
  }

  /** Reads the three secrets from `home`, making any that is missing. */
  static async open(home: string): Promise<Credentials> {
    const [admin, read, node] = [await ensureSecret(home, 'token'), await ensureSecret(home, READ_TOKEN_FILE), await ensureSecret(home, NODE_SECRET_FILE)];
    return new Credentials(admin, read, node);
  }

  nodeToken(node: string): string {
    return mintNodeToken(this.nodeSecret, node);
  }

  /** The role of the token in an `Authorization: Bearer` header, or undefined when it is none of ours. */
  identify(header: string | undefined): Role | undefined {
    const m = /^Bearer\s+(\S{1,512})\s*$/i.exec(header ?? '');
    if (m === null) return undefined;
    const given = digest(m[1]!);
    // Every comparison is made, whatever matches, so the time says nothing about which one did.
    const node = nodeOfToken(m[1]!);
    const asNode = node !== undefined && timingSafeEqual(given, digest(this.nodeToken(node)));
    const asAdmin = timingSafeEqual(given, this.admin);
    const asRead = timingSafeEqual(given, this.read);
    if (asAdmin) return { kind: 'admin' };
    if (asRead) return { kind: 'read' };
    if (asNode) return { kind: 'node', node };
    return undefined;
  }
}
