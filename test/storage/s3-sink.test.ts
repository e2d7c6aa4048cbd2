import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import {
  InvalidStorageOptionError,
  MIN_PART_SIZE_BYTES,
  openSink,
  openSource,
  readAll,
  StorageNotFoundError,
  writeAll,
  type SinkOptions,
} from '../../src/storage/index.js';
import { expectSameBytes, patternBytes } from './support/bytes.js';
import { S3RVER_CREDENTIALS, S3TestServer } from './support/s3-server.js';

let s3: S3TestServer;
let client: S3Client;
/** Names of the S3 commands the sinks under test sent, in order. */
let commands: string[] = [];
let warnings: string[] = [];
const MiB = 1024 * 1024;

beforeAll(async () => {
  s3 = await S3TestServer.start();
  client = new S3Client({
    endpoint: s3.endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: S3RVER_CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    maxAttempts: 1,
  });
  client.middlewareStack.add(
    (next, context) => (args) => {
      commands.push(context.commandName ?? '?');
      return next(args);
    },
    { step: 'initialize', name: 'recordCommandNames' },
  );
});

beforeEach(() => {
  commands = [];
  warnings = [];
});

afterAll(async () => {
  client.destroy();
  await s3.close();
});

/** Sink options aimed at the test server through the recording client. */
function options(extra: SinkOptions = {}): SinkOptions {
  return { s3: { client }, partSizeBytes: MIN_PART_SIZE_BYTES, onWarning: (m) => warnings.push(m), ...extra };
}

async function exists(url: string): Promise<boolean> {
  const source = openSource(url, { s3: { client }, cache: false });
  try {
    await source.size();
    return true;
  } catch (err) {
    if (err instanceof StorageNotFoundError) return false;
    throw err;
  } finally {
    await source.close();
  }
}

describe('the S3 sink', () => {
  it('puts an object of at most one part with a single PutObject on close, and nothing before', async () => {
    const url = s3.url('small.tif');
    const data = patternBytes(300_000, 21);
    const sink = await openSink(url, options());
    await sink.write(data.subarray(0, 100_000));
    await sink.write(data.subarray(100_000));
    expect(commands).toEqual([]);
    expect(await exists(url)).toBe(false);
    await sink.close();
    expect(commands.filter((c) => c !== 'HeadObjectCommand')).toEqual(['PutObjectCommand']);
    expectSameBytes(await readAll(url, { s3: { client } }), data);
  });

  it('sends the same bytes again when a single PutObject is retried after a throttling answer', async () => {
    const url = s3.url('retried.tif');
    const data = patternBytes(200_000, 23);
    // A client whose first PutObject fails as a throttled S3 answers (503 SlowDown): the sink retries it.
    const flaky = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, region: 'us-east-1', credentials: S3RVER_CREDENTIALS, requestChecksumCalculation: 'WHEN_REQUIRED', maxAttempts: 1 });
    let refused = 0;
    flaky.middlewareStack.add(
      (next, context) => (args) => {
        if (context.commandName === 'PutObjectCommand' && refused++ === 0) throw Object.assign(new Error('Please reduce your request rate.'), { name: 'SlowDown', $metadata: { httpStatusCode: 503 } });
        return next(args);
      },
      { step: 'initialize', name: 'refuseFirstPut' },
    );
    try {
      await writeAll(url, data, { s3: { client: flaky }, retry: { baseDelayMs: 1, maxDelayMs: 2 } });
      expect(refused).toBe(2);
      expectSameBytes(await readAll(url, { s3: { client } }), data);
    } finally {
      flaky.destroy();
    }
  });

  it('uploads a bigger object in parts while it is written, and it reads back byte for byte', async () => {
    const url = s3.url('big.tif');
    const data = patternBytes(12 * MiB + 12_345, 22);
    const sink = await openSink(url, options());
    for (let at = 0; at < data.length; at += MiB) await sink.write(data.subarray(at, at + MiB));
    // Parts went up as they filled, so the sink never held the whole object.
    expect(commands).toContain('CreateMultipartUploadCommand');
    expect(commands.filter((c) => c === 'UploadPartCommand').length).toBeGreaterThanOrEqual(1);
    expect(await exists(url)).toBe(false);
    await sink.close();
    expect(commands.filter((c) => c === 'UploadPartCommand')).toHaveLength(3);
    expect(commands.at(-1)).toBe('CompleteMultipartUploadCommand');
    expectSameBytes(await readAll(url, { s3: { client } }), data);
  });

  it('leaves no object when a multipart upload is aborted', async () => {
    const url = s3.url('aborted-multipart.tif');
    const sink = await openSink(url, options());
    await sink.write(patternBytes(MIN_PART_SIZE_BYTES + 1_000, 23));
    await sink.write(patternBytes(1_000, 24));
    await sink.abort();
    expect(commands).toContain('AbortMultipartUploadCommand');
    expect(await exists(url)).toBe(false);
    // s3rver has no AbortMultipartUpload; the sink must say so rather than fail the abort.
    for (const w of warnings) expect(w).toContain(url);
  });

  it('leaves no object and sends nothing when aborted before the first part', async () => {
    const url = s3.url('aborted-small.tif');
    const sink = await openSink(url, options());
    await sink.write(patternBytes(1_000, 25));
    await sink.abort();
    expect(commands).toEqual([]);
    expect(await exists(url)).toBe(false);
  });

  it('fails close with StorageNotFoundError naming the URL when the bucket does not exist', async () => {
    const url = 's3://no-such-bucket/out.tif';
    const err = await writeAll(url, patternBytes(10), options()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageNotFoundError);
    expect((err as Error).message).toContain(url);
  });

  it('refuses a part size under the S3 minimum of 5 MiB, naming the option and the value', async () => {
    const err = await openSink(s3.url('x.tif'), options({ partSizeBytes: 1024 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidStorageOptionError);
    expect((err as Error).message).toBe('options.partSizeBytes must be at least 5242880 (5 MiB, the S3 minimum part size) (got 1024)');
  });

  it('rejects writes once its signal aborts, and abort then leaves nothing', async () => {
    const controller = new AbortController();
    const url = s3.url('cancelled.tif');
    const sink = await openSink(url, options({ signal: controller.signal }));
    await sink.write(patternBytes(100, 26));
    const reason = new Error('job cancelled');
    controller.abort(reason);
    await expect(sink.write(patternBytes(100, 27))).rejects.toBe(reason);
    await sink.abort();
    expect(await exists(url)).toBe(false);
  });
});
