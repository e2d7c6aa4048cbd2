import type { ByteSource } from './types.js';

/** Traffic between a source and its backend; tests assert on it, logs report it. */
export interface SourceStats {
  /** Requests sent to the backend (file reads, HTTP requests, S3 calls), retries included. */
  requests: number;
  /** Body bytes that arrived from the backend, including any beyond what the caller asked for. */
  bytes: number;
}

/** A ByteSource that counts its backend traffic: what `openSource` returns. */
export interface StorageSource extends ByteSource {
  /** Live counters; read them, do not write them. */
  readonly stats: Readonly<SourceStats>;
}

export function emptyStats(): SourceStats {
  return { requests: 0, bytes: 0 };
}
