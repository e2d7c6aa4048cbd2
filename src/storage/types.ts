/** Byte access by URL: the only way the raster library touches files, HTTP servers and object stores. */

export interface ReadOptions {
  /** Cancels the read; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** A byte range of an object. */
export interface ByteRange {
  /** Offset of the first byte. */
  offset: number;
  /** Number of bytes. */
  length: number;
}

/** Random-access reads from one object (a file, an HTTP resource, an S3 object). */
export interface ByteSource {
  /** The URL as the user gave it; every error names it. */
  readonly url: string;
  /** Size of the object in bytes (asked once, then remembered). */
  size(options?: ReadOptions): Promise<number>;
  /**
   * Reads `length` bytes at `offset`. A range that runs past the end of the object is clipped, so the
   * result may be shorter than asked (empty past the end); callers that need all bytes check the length.
   */
  read(offset: number, length: number, options?: ReadOptions): Promise<Uint8Array>;
  /** Releases handles and connections. */
  close(): Promise<void>;
}

/** Sequential writing of one object; nothing is visible at the URL before `close()` resolves. */
export interface ByteSink {
  /** The URL being written. */
  readonly url: string;
  /** Appends bytes. Resolves when the sink can take more (back-pressure). */
  write(chunk: Uint8Array): Promise<void>;
  /** Commits the object (rename into place, complete the multipart upload). */
  close(): Promise<void>;
  /** Discards everything written so far; the URL is left as it was. */
  abort(): Promise<void>;
}
