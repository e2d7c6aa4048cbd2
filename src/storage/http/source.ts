import { request, type Dispatcher } from 'undici';

import { StorageError } from '../errors.js';
import type { ResolvedRemoteOptions } from '../options.js';
import { headerValue, parseContentRange, rangeHeader } from '../range.js';
import { readBodyWindow } from '../read-body.js';
import { withRetry } from '../retry.js';
import { RemoteSource } from '../remote-source.js';
import { sharedHttpDispatcher } from './agent.js';
import { networkError, parseContentLength, statusError } from './status.js';

/**
 * Read-only HTTP(S) object, read with `Range` GETs over the shared keep-alive pool.
 *
 * The size comes from the first response that reveals it (a range GET's Content-Range, a HEAD's
 * Content-Length), so a reader that starts with a header read never pays for a separate HEAD.
 */
export class HttpSource extends RemoteSource {
  private warnedIgnoredRange = false;

  /**
   * @param url the URL as the user gave it, for messages
   * @param href the normalised URL to request
   */
  constructor(
    url: string,
    private readonly href: string,
    options: ResolvedRemoteOptions,
    private readonly dispatcher: Dispatcher = sharedHttpDispatcher(),
  ) {
    super(url, options);
  }

  protected async fetchSize(signal: AbortSignal): Promise<number> {
    const fromHead = await withRetry(this.url, this.options.retry, signal, () =>
      this.attempt(signal, (s) => this.head(s)),
    );
    if (fromHead !== undefined) return fromHead;
    // No usable HEAD (405, or no Content-Length): a one-byte range GET reveals the size in Content-Range.
    await this.read(0, 1, { signal });
    const known = this.objectSize.known;
    if (known === undefined) {
      throw new StorageError('ERR_STORAGE', this.url, `Server reports no object size (no Content-Length or Content-Range): ${this.url}`);
    }
    return known;
  }

  /** The size from a HEAD, or undefined when the server will not say that way. */
  private async head(signal: AbortSignal): Promise<number | undefined> {
    this.stats.requests++;
    const { statusCode, headers, body } = await request(this.href, { dispatcher: this.dispatcher, method: 'HEAD', signal });
    await body.dump();
    if (statusCode === 405 || statusCode === 501) return undefined;
    if (statusCode < 200 || statusCode >= 300) throw statusError(this.url, 'HEAD', statusCode, headers);
    const length = parseContentLength(headers['content-length']);
    if (length !== undefined) this.objectSize.set(length);
    return length;
  }

  protected async rangeGet(offset: number, length: number, signal: AbortSignal): Promise<Uint8Array> {
    const range = rangeHeader(offset, length);
    this.stats.requests++;
    const { statusCode, headers, body } = await request(this.href, {
      dispatcher: this.dispatcher,
      method: 'GET',
      headers: { range },
      signal,
    });
    const onBytes = (n: number): void => {
      this.stats.bytes += n;
    };
    const expectedBytes = parseContentLength(headers['content-length']);

    if (statusCode === 206) {
      const contentRange = parseContentRange(headers['content-range']);
      if (contentRange?.total !== undefined) this.objectSize.set(contentRange.total);
      if (contentRange?.start !== offset) {
        body.destroy();
        throw new StorageError(
          'ERR_STORAGE',
          this.url,
          `Server answered Range ${range} with Content-Range ${headerValue(headers['content-range']) ?? '(none)'}: ${this.url}`,
        );
      }
      return readBodyWindow(body, { skip: 0, take: length, signal, onBytes, expectedBytes });
    }

    if (statusCode === 200) {
      // The server ignored Range and sends the object from byte 0. Still correct: skip to the
      // offset and hang up once the range has arrived, but say so, since every read now costs
      // everything before it.
      if (expectedBytes !== undefined) this.objectSize.set(expectedBytes);
      if (!this.warnedIgnoredRange) {
        this.warnedIgnoredRange = true;
        this.options.onWarning(
          `Server ignored the Range header for ${this.url}; reads download from the start of the object`,
        );
      }
      return readBodyWindow(body, { skip: offset, take: length, signal, onBytes, expectedBytes });
    }

    await body.dump().catch(() => undefined);
    if (statusCode === 416) {
      // Past the end: the ByteSource contract says clip, so this is an empty read, not an error.
      const total = parseContentRange(headers['content-range'])?.total;
      if (total !== undefined) this.objectSize.set(total);
      return new Uint8Array(0);
    }
    throw statusError(this.url, 'GET', statusCode, headers);
  }

  protected mapError(url: string, err: unknown): unknown {
    return networkError(url, err);
  }

}
