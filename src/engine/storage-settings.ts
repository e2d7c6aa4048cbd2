import { readEnv } from '../env.js';
import { DataboxError } from '../errors.js';
import type { NodeStorage, NodeView } from './api/schemas.js';

/**
 * The S3 settings of this process that decide which store an `s3://` URL names: the endpoint and the
 * region, never the credentials. A Taskman reports them when it joins; a client compares them with its
 * own before a job that reads or writes `s3://` URLs.
 */
export function localStorageSettings(): NodeStorage {
  const env = readEnv();
  return { s3Endpoint: env.s3Endpoint ?? null, s3Region: env.awsRegion };
}

/**
 * Refuses to run a job of `s3://` URLs on nodes whose workers would reach another store than this
 * client did: the client listed and checked the objects through its settings, and the workers must
 * read and write the same ones. Sending the client's endpoint with the job instead would make the
 * workers send their credentials wherever a client points them, so the settings must agree.
 */
export function checkNodeStorage(nodes: readonly NodeView[], urls: Iterable<string>, jobman: string): void {
  if (![...urls].some((u) => u.startsWith('s3://'))) return;
  const mine = localStorageSettings();
  const describe = (s: NodeStorage): string => `${s.s3Endpoint ?? 'AWS (no DATABOX_S3_ENDPOINT)'}, region ${s.s3Region}`;
  for (const node of nodes) {
    if (node.state !== 'alive' || node.storage === null) continue;
    const theirs = node.storage;
    if (theirs.s3Endpoint === mine.s3Endpoint && theirs.s3Region === mine.s3Region) continue;
    throw new DataboxError(
      'ERR_STORAGE_SETTINGS',
      `This client reaches s3:// through ${describe(mine)}, but the workers of node ${node.name} (at ${jobman}) reach it through ${describe(theirs)}; ` +
        'set the same DATABOX_S3_ENDPOINT and AWS_REGION (and credentials) where that node’s `databox up` or `databox taskman` runs, then start it again',
    );
  }
}
