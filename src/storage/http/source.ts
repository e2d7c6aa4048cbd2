import { StorageError, StorageTransientError } from '../errors.js';
import type { ResolvedRemoteOptions } from '../options.js';
import { headerValue, parseContentRange, rangeHeader } from '../range.js';
import { readBodyWindow } from '../read-body.js';
import { withRetry } from '../retry.js';
import { RemoteSource } from '../remote-source.js';
import { keepObject, keptObject } from './whole-objects.js';
import { sharedHttpDispatcher, undiciModule } from './agent.js';
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
    const { request } = await undiciModule();
    const { statusCode, headers, body } = await request(this.href, { dispatcher: await sharedHttpDispatcher(), method: 'HEAD', signal });
    await body.dump();
    if (statusCode === 405 || statusCode === 501) return undefined;
    if (statusCode < 200 || statusCode >= 300) throw statusError(this.url, 'HEAD', statusCode, headers);
    const length = parseContentLength(headers['content-length']);
    if (length !== undefined) this.objectSize.set(length);
    return length;
  }

  protected async rangeGet(offset: number, length: number, signal: AbortSignal): Promise<Uint8Array> {
    const kept = keptObject(this.href);
    if (kept !== undefined) {
      // Another read of this process met a server that ignores Range and keeps (or is fetching) the
      // whole object; if that fetch fails, this read asks the server itself.
      const whole = await kept.catch(() => undefined);
      if (whole !== undefined) return whole.slice(offset, offset + length);
    }
    const range = rangeHeader(offset, length);
    const { request } = await undiciModule();
    this.stats.requests++;
    const { statusCode, headers, body } = await request(this.href, {
      dispatcher: await sharedHttpDispatcher(),
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
      // The server ignored Range and sends the whole object. Keep it whole (see whole-objects.ts), so
      // this object crosses the network once per process instead of once per read.
      const limit = this.options.wholeObjectMaxBytes;
      if (expectedBytes !== undefined) {
        this.objectSize.set(expectedBytes);
        if (expectedBytes > limit) {
          body.destroy();
          throw this.tooLargeToKeep(`is ${expectedBytes} bytes, more`, limit);
        }
      }
      if (!this.warnedIgnoredRange) {
        this.warnedIgnoredRange = true;
        this.options.onWarning(`${this.url}: the server ignores Range requests, so the whole object is downloaded once and kept in memory`);
      }
      let mine = false;
      const whole = keepObject(this.href, () => {
        mine = true;
        return readBodyWindow(body, { skip: 0, take: limit + 1, signal, onBytes, expectedBytes }).then((b) => {
          if (b.byteLength > limit) throw this.tooLargeToKeep('is larger', limit);
          this.objectSize.set(b.byteLength);
          return b;
        });
      });
      // Another read already fetching it makes this body needless; if that fetch fails, this read's
      // retry loop sends it again.
      if (!mine) body.destroy();
      const all = await whole.catch((err: unknown) => {
        throw mine ? err : new StorageTransientError(this.url, 'a concurrent whole-object read failed');
      });
      return all.slice(offset, offset + length);
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

  private tooLargeToKeep(what: string, limit: number): StorageError {
    return new StorageError(
      'ERR_RANGE_IGNORED',
      this.url,
      `The server of ${this.url} ignores Range requests, and the object ${what} than the ${limit} bytes kept whole in memory (wholeObjectMaxBytes); serve it from a server that honours Range (S3, nginx, Apache) or copy it locally`,
    );
  }

  protected mapError(url: string, err: unknown): unknown {
    return networkError(url, err);
  }

}
