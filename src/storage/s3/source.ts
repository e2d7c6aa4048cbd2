import type { Readable } from 'node:stream';

import type { S3Client } from '@aws-sdk/client-s3';

import { StorageError } from '../errors.js';
import type { ResolvedRemoteOptions } from '../options.js';
import { parseContentRange, rangeHeader } from '../range.js';
import { readBodyWindow } from '../read-body.js';
import { withRetry } from '../retry.js';
import { RemoteSource } from '../remote-source.js';
import { s3ClientFor, s3Sdk } from './client.js';
import { isInvalidRange, s3Error } from './errors.js';

/** One S3 object, read with ranged GetObject calls; its size from HeadObject or any ranged GET. */
export class S3Source extends RemoteSource {
  constructor(
    url: string,
    private readonly bucket: string,
    private readonly key: string,
    options: ResolvedRemoteOptions,
  ) {
    super(url, options);
  }

  private clientOnce: Promise<S3Client> | undefined;

  /** The shared client for these options, looked up once per source (the SDK loads on the first). */
  private get client(): Promise<S3Client> {
    return (this.clientOnce ??= s3ClientFor(this.options.s3));
  }

  protected fetchSize(signal: AbortSignal): Promise<number> {
    return withRetry(this.url, this.options.retry, signal, () =>
      this.attempt(signal, async (s) => {
        this.stats.requests++;
        const { HeadObjectCommand } = await s3Sdk();
        const head = await (await this.client).send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.key }), { abortSignal: s });
        if (head.ContentLength === undefined) {
          throw new StorageError('ERR_STORAGE', this.url, `S3 HeadObject returned no ContentLength: ${this.url}`);
        }
        return head.ContentLength;
      }),
    );
  }

  protected async rangeGet(offset: number, length: number, signal: AbortSignal): Promise<Uint8Array> {
    this.stats.requests++;
    const { GetObjectCommand } = await s3Sdk();
    const client = await this.client;
    let response;
    try {
      response = await client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.key, Range: rangeHeader(offset, length) }),
        { abortSignal: signal },
      );
    } catch (err) {
      // Past the end: the ByteSource contract says clip, so this is an empty read, not an error.
      if (isInvalidRange(err)) return new Uint8Array(0);
      throw err;
    }
    const body = response.Body as Readable | undefined;
    if (body === undefined) return new Uint8Array(0);
    const contentRange = parseContentRange(response.ContentRange);
    if (contentRange?.total !== undefined) this.objectSize.set(contentRange.total);
    // No Content-Range means the whole object came back (a store that ignored Range): skip to the offset.
    const start = contentRange?.start ?? 0;
    if (start > offset) {
      body.destroy();
      throw new StorageError('ERR_STORAGE', this.url, `S3 answered Range from ${offset} with ${response.ContentRange}: ${this.url}`);
    }
    return readBodyWindow(body, {
      skip: offset - start,
      take: length,
      signal,
      expectedBytes: response.ContentLength,
      onBytes: (n) => {
        this.stats.bytes += n;
      },
    });
  }

  protected mapError(url: string, err: unknown): unknown {
    return s3Error(url, err);
  }

}
