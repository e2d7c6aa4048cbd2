import type { Readable } from 'node:stream';

/** What to keep from a response body. */
export interface BodyWindow {
  /** Bytes to drop from the start (a server that ignored Range sends the object from byte 0). */
  skip: number;
  /** Most bytes to keep; the stream is destroyed once they have arrived, so no more is downloaded. */
  take: number;
  /** Destroys the stream with the signal's reason, which then rejects the read. */
  signal: AbortSignal;
  /** Body length the server announced (Content-Length), when it did. */
  expectedBytes?: number | undefined;
  /** Called with the size of every chunk that arrived, for the source's byte counter. */
  onBytes: (n: number) => void;
}

/**
 * Reads the wanted window of a response body into a fresh Uint8Array.
 *
 * The copy is deliberate: Node's pooled Buffers share one ArrayBuffer, and callers (decoders, typed
 * array views) must be free to use `.buffer` of what we return.
 */
export async function readBodyWindow(body: Readable, window: BodyWindow): Promise<Uint8Array> {
  const { signal } = window;
  const onAbort = (): void => {
    body.destroy(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
  };
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });

  const chunks: Uint8Array[] = [];
  let toSkip = window.skip;
  let kept = 0;
  let received = 0;
  try {
    for await (const raw of body as AsyncIterable<Uint8Array | string>) {
      const chunk = typeof raw === 'string' ? Buffer.from(raw) : raw;
      window.onBytes(chunk.byteLength);
      received += chunk.byteLength;
      let part = chunk;
      if (toSkip > 0) {
        const dropped = Math.min(toSkip, part.byteLength);
        toSkip -= dropped;
        part = part.subarray(dropped);
      }
      if (part.byteLength > window.take - kept) part = part.subarray(0, window.take - kept);
      if (part.byteLength > 0) {
        chunks.push(part);
        kept += part.byteLength;
      }
      // Stop early only when more is on its way: breaking off a body that has fully arrived would
      // still cost the keep-alive connection.
      if (kept >= window.take && (window.expectedBytes === undefined || received < window.expectedBytes)) break;
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    // Leaving the loop early (enough bytes, or an error) must not leave the socket streaming.
    if (!body.readableEnded) body.destroy();
  }
  signal.throwIfAborted();

  const out = new Uint8Array(kept);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
