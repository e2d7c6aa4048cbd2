import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  closeSharedConnections,
  openSource,
  readRanges,
  S3Source,
  StorageForbiddenError,
  StorageNotFoundError,
} from '../../src/storage/index.js';
import { expectSameBytes, patternBytes } from './support/bytes.js';
import { S3RVER_CREDENTIALS, S3TestServer } from './support/s3-server.js';
import { describeSourceContract } from './support/source-contract.js';

let s3: S3TestServer;
/** The test's own client, to put fixtures without going through the code under test. */
let direct: S3Client;
const savedEnv = { ...process.env };
const data = patternBytes(400_000, 5);

beforeAll(async () => {
  s3 = await S3TestServer.start();
  // The sources under test find the server the way a deployment would: through the environment.
  process.env.DATABOX_S3_ENDPOINT = s3.endpoint;
  process.env.AWS_ACCESS_KEY_ID = S3RVER_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = S3RVER_CREDENTIALS.secretAccessKey;
  process.env.AWS_REGION = 'us-east-1';
  direct = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: S3RVER_CREDENTIALS });
  await put('scene.tif', data);
});

afterAll(async () => {
  process.env = savedEnv;
  direct.destroy();
  await closeSharedConnections();
  await s3.close();
});

async function put(key: string, bytes: Uint8Array): Promise<string> {
  await direct.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: bytes }));
  return s3.url(key);
}

describeSourceContract('S3', () => ({
  put,
  missingUrl: () => s3.url('no-such-key.tif'),
  options: { retry: { baseDelayMs: 1 } },
}));

describe('S3 range reads', () => {
  it('transfers the bytes of a ranged read plus headers and nothing more', async () => {
    const source = openSource(s3.url('scene.tif'), { cache: false });
    try {
      await source.size();
      const before = s3.proxy.downstreamBytes;
      const length = 100_000;
      expectSameBytes(await source.read(123_456, length), data.subarray(123_456, 123_456 + length));
      const wire = s3.proxy.downstreamBytes - before;
      expect(wire).toBeGreaterThanOrEqual(length);
      expect(wire).toBeLessThan(length + 2048);
      expect(source.stats.bytes).toBe(length);
    } finally {
      await source.close();
    }
  });

  it('returns exactly the asked byte even from a store that answers bytes=0-0 with the whole object', async () => {
    // s3rver reads the range end 0 as "no end"; the reader keeps one byte and hangs up on the rest.
    const source = openSource(s3.url('scene.tif'), { cache: false });
    try {
      expectSameBytes(await source.read(0, 1), data.subarray(0, 1));
    } finally {
      await source.close();
    }
  });

  it('merges nearby ranges into one GetObject', async () => {
    const source = openSource(s3.url('scene.tif'), { cache: false });
    try {
      const got = await readRanges(source, [
        { offset: 50_000, length: 1_000 },
        { offset: 51_500, length: 2_000 },
      ]);
      expect(source.stats.requests).toBe(1);
      expectSameBytes(got[1] ?? new Uint8Array(), data.subarray(51_500, 53_500));
    } finally {
      await source.close();
    }
  });

  it('takes the endpoint and credentials from options as well as from the environment', async () => {
    const source = openSource(s3.url('scene.tif'), {
      cache: false,
      s3: { endpoint: s3.endpoint, credentials: S3RVER_CREDENTIALS, region: 'eu-west-1' },
    });
    expect(source).toBeInstanceOf(S3Source);
    expect(await source.size()).toBe(data.length);
    await source.close();
  });

  it('maps a missing bucket to StorageNotFoundError naming the URL', async () => {
    const url = 's3://no-such-bucket/scene.tif';
    const err = await openSource(url).read(0, 10).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageNotFoundError);
    expect((err as Error).message).toContain(url);
  });

  it('maps refused credentials to StorageForbiddenError naming the URL, without retrying', async () => {
    const source = openSource(s3.url('scene.tif'), {
      cache: false,
      // s3rver checks the key id but not SigV4 signatures, so an unknown key id is what it refuses.
      s3: { credentials: { accessKeyId: 'UNKNOWN', secretAccessKey: 'S3RVER' } },
    });
    const err = await source.read(0, 10).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageForbiddenError);
    expect((err as Error).message).toContain(s3.url('scene.tif'));
    expect(source.stats.requests).toBe(1);
  });
});
