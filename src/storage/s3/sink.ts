import type { CompletedPart, S3Client } from '@aws-sdk/client-s3';

type S3 = { sdk: typeof import('@aws-sdk/client-s3'); client: S3Client };

import { messageOf } from '../../errors.js';
import { StorageError } from '../errors.js';
import type { ResolvedSinkOptions } from '../options.js';
import { timedAttempt, withRetry } from '../retry.js';
import type { ByteSink } from '../types.js';
import { s3ClientFor, s3Sdk } from './client.js';
import { s3Error } from './errors.js';

/**
 * Writes one S3 object. An object of at most one part goes up in a single PutObject on `close()`;
 * a bigger one becomes a multipart upload whose parts are sent as they fill, one at a time, while the
 * next part fills. Memory therefore stays near two parts whatever the object's size, and a slow
 * upload slows the writer (back-pressure) instead of growing the buffer.
 */
export class S3Sink implements ByteSink {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private uploadId: Promise<string> | undefined;
  private nextPartNumber = 1;
  private readonly parts: CompletedPart[] = [];
  private inFlight: Promise<void> | undefined;
  private state: 'open' | 'closing' | 'closed' | 'aborted' = 'open';
  /** The SDK and the client, looked up on the sink's first call. */
  private s3: Promise<S3> | undefined;

  constructor(
    readonly url: string,
    private readonly bucket: string,
    private readonly key: string,
    private readonly options: ResolvedSinkOptions,
  ) {}

  async write(chunk: Uint8Array): Promise<void> {
    this.assertOpen('write');
    this.options.signal?.throwIfAborted();
    // Copy: the caller may reuse its buffer as soon as this resolves, while the part is still uploading.
    this.chunks.push(chunk.slice());
    this.buffered += chunk.byteLength;
    // Strictly more than a part: an object of exactly one part still goes up in a single PUT.
    while (this.buffered > this.options.partSizeBytes) {
      const part = this.take(this.options.partSizeBytes);
      // Wait for the previous part first; that wait is the back-pressure, and it surfaces its failure.
      await this.inFlight;
      this.inFlight = this.uploadPart(part);
      // Seen by the next write or close; until then keep the rejection from counting as unhandled.
      this.inFlight.catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    this.assertOpen('close');
    this.state = 'closing';
    try {
      this.options.signal?.throwIfAborted();
      if (this.uploadId === undefined) {
        // Taken once, outside the call: a retried attempt must send the same bytes, not what is left.
        const body = this.take(this.buffered);
        await this.send((signal, { client, sdk }) =>
          client.send(new sdk.PutObjectCommand({ Bucket: this.bucket, Key: this.key, Body: body }), {
            abortSignal: signal,
          }),
        );
      } else {
        await this.inFlight;
        if (this.buffered > 0) await this.uploadPart(this.take(this.buffered));
        const uploadId = await this.uploadId;
        const parts = [...this.parts].sort((a, b) => (a.PartNumber ?? 0) - (b.PartNumber ?? 0));
        await this.send((signal, { client, sdk }) =>
          client.send(
            new sdk.CompleteMultipartUploadCommand({
              Bucket: this.bucket,
              Key: this.key,
              UploadId: uploadId,
              MultipartUpload: { Parts: parts },
            }),
            { abortSignal: signal },
          ),
        );
      }
      this.state = 'closed';
    } catch (err) {
      // Leave the URL as it was and free the stored parts; the caller sees the original failure.
      this.state = 'open';
      await this.abort();
      throw err;
    }
  }

  async abort(): Promise<void> {
    if (this.state === 'aborted' || this.state === 'closed') return;
    this.state = 'aborted';
    this.chunks = [];
    this.buffered = 0;
    await this.inFlight?.catch(() => undefined);
    const uploadId = await this.uploadId?.catch(() => undefined);
    if (uploadId === undefined) return;
    try {
      // Deliberately not tied to the sink's signal: clean-up must run even after the caller gave up.
      await this.send(
        (signal, { client, sdk }) => client.send(new sdk.AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId: uploadId }), { abortSignal: signal }),
        undefined,
      );
    } catch (err) {
      // The object was never completed, so the URL is as it was; only stored parts may linger, and a
      // bucket lifecycle rule (AbortIncompleteMultipartUpload) is the backstop for those.
      this.options.onWarning(
        `Could not abort multipart upload ${uploadId} of ${this.url}; its parts may linger until a lifecycle rule removes them. Cause: ${messageOf(err)}`,
      );
    }
  }

  private async uploadPart(body: Uint8Array): Promise<void> {
    // Numbered before any await, so parts keep the order in which they were written.
    const partNumber = this.nextPartNumber++;
    this.uploadId ??= this.send((signal, { client, sdk }) =>
      client.send(new sdk.CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.key }), { abortSignal: signal }),
    ).then((created) => {
      if (created.UploadId === undefined) {
        throw new StorageError('ERR_STORAGE', this.url, `S3 CreateMultipartUpload returned no UploadId: ${this.url}`);
      }
      return created.UploadId;
    });
    const uploadId = await this.uploadId;
    const uploaded = await this.send((signal, { client, sdk }) =>
      client.send(
        new sdk.UploadPartCommand({ Bucket: this.bucket, Key: this.key, UploadId: uploadId, PartNumber: partNumber, Body: body }),
        { abortSignal: signal },
      ),
    );
    this.parts.push({ PartNumber: partNumber, ETag: uploaded.ETag });
  }

  /** Removes and returns the first `n` buffered bytes as one contiguous array. */
  private take(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const head = this.chunks[0];
      if (head === undefined) break;
      const used = Math.min(head.byteLength, n - filled);
      out.set(head.subarray(0, used), filled);
      filled += used;
      if (used === head.byteLength) this.chunks.shift();
      else this.chunks[0] = head.subarray(used);
    }
    this.buffered -= filled;
    return out;
  }

  /** One S3 call with retries and a time limit; the SDK and the client load on the sink's first call. */
  private async send<T>(call: (signal: AbortSignal, s3: S3) => Promise<T>, signal: AbortSignal | undefined = this.options.signal): Promise<T> {
    this.s3 ??= Promise.all([s3Sdk(), s3ClientFor(this.options.s3)]).then(([sdk, client]) => ({ sdk, client }));
    const s3 = await this.s3;
    return withRetry(this.url, this.options.retry, signal, () => timedAttempt(this.url, this.options.timeoutMs, signal, (s) => call(s, s3), s3Error));
  }

  private assertOpen(operation: string): void {
    if (this.state !== 'open') {
      throw new StorageError('ERR_SINK_CLOSED', this.url, `Cannot ${operation} ${this.url}: the sink is already ${this.state}`);
    }
  }
}
