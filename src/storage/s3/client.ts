import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';

import type { S3Client } from '@aws-sdk/client-s3';

import { readEnv } from '../../env.js';
import { checkedLookup } from '../access/lookup.js';
import { AccessDeniedError, accessPolicy } from '../access/policy.js';
import type { ResolvedS3Options } from '../options.js';

/** The settings that make two S3 clients interchangeable; sources with equal settings share one. */
interface ClientSettings {
  endpoint: string | undefined;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined;
}

const clients = new Map<string, S3Client>();

type S3Sdk = typeof import('@aws-sdk/client-s3');
let sdk: Promise<S3Sdk> | undefined;

/**
 * The AWS SDK's S3 module, loaded on first use: it is about 0.3 s of module loading that a command
 * without an s3:// URL should never pay.
 */
export function s3Sdk(): Promise<S3Sdk> {
  return (sdk ??= import('@aws-sdk/client-s3'));
}

/**
 * The S3 client for these options: the caller's own, or one shared per settings per process, so
 * that hundreds of COG sources reuse one keep-alive connection pool. Explicit options win over the
 * environment (`readEnv()`), read at the moment of first use.
 */
export async function s3ClientFor(options: ResolvedS3Options): Promise<S3Client> {
  if (options.client !== undefined) return options.client;
  const settings = resolveSettings(options);
  checkEndpoint(settings.endpoint);
  const key = JSON.stringify(settings);
  let client = clients.get(key);
  if (client === undefined) {
    const { S3Client } = await s3Sdk();
    // Another caller may have made it while the SDK loaded.
    client = clients.get(key) ?? createClient(S3Client, settings);
    clients.set(key, client);
  }
  return client;
}

/** An S3 endpoint on a link-local or metadata address is refused, as an HTTP URL there is, unless a rule names its host. */
function checkEndpoint(endpoint: string | undefined): void {
  if (endpoint === undefined) return;
  let host: string;
  try {
    host = new URL(endpoint).hostname;
  } catch {
    return; // the SDK names a bad endpoint itself
  }
  const why = accessPolicy()?.connectRefusal(host);
  if (why !== undefined) throw new AccessDeniedError(endpoint, `S3 endpoint ${endpoint}: ${why}`);
}

/** Destroys the shared clients and their idle sockets; the next source creates fresh ones. */
export function closeSharedS3Clients(): void {
  for (const client of clients.values()) client.destroy();
  clients.clear();
}

function resolveSettings(options: ResolvedS3Options): ClientSettings {
  const env = readEnv();
  const envCredentials =
    env.awsAccessKeyId !== undefined && env.awsSecretAccessKey !== undefined
      ? {
          accessKeyId: env.awsAccessKeyId,
          secretAccessKey: env.awsSecretAccessKey,
          ...(env.awsSessionToken === undefined ? {} : { sessionToken: env.awsSessionToken }),
        }
      : undefined;
  return {
    endpoint: options.endpoint ?? env.s3Endpoint,
    region: options.region ?? env.awsRegion,
    credentials: options.credentials ?? envCredentials,
  };
}

function createClient(S3Client: S3Sdk['S3Client'], settings: ClientSettings): S3Client {
  const custom = settings.endpoint !== undefined;
  // The SDK prints a 9-line notice on Node 20 about the Node versions its future releases will need:
  // news for whoever upgrades the SDK, not for a user reading a COG. Its own switch turns it off.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  return new S3Client({
    region: settings.region,
    ...(custom ? { endpoint: settings.endpoint, forcePathStyle: true } : {}),
    // Without explicit credentials the SDK's default chain (profiles, instance roles) applies.
    ...(settings.credentials === undefined ? {} : { credentials: settings.credentials }),
    // Our retry loop owns retries, so S3 and HTTP share one policy, one AbortSignal and typed errors.
    maxAttempts: 1,
    // S3-compatible stores (MinIO, Ceph, OBS) lag behind AWS on the newer integrity checksums.
    requestChecksumCalculation: custom ? 'WHEN_REQUIRED' : 'WHEN_SUPPORTED',
    // A CRC over every tile read buys little over TCP's and TLS's own checks, and ranged GETs cannot be checked anyway.
    responseChecksumValidation: 'WHEN_REQUIRED',
    // Under an access policy, the endpoint's address is checked when each connection is made (see
    // access/lookup.ts); the agents keep the SDK's own defaults otherwise (keep-alive, 50 sockets).
    ...(accessPolicy() === undefined
      ? {}
      : {
          requestHandler: {
            httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 50, lookup: checkedLookup }),
            httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: 50, lookup: checkedLookup }),
          },
        }),
  });
}
