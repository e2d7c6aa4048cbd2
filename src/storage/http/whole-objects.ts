/**
 * Whole objects from HTTP servers that ignore `Range` (Python's `http.server`, some CDNs and proxies).
 * Such a server sends the whole object to every ranged read, so a COG read tile by tile would cost the
 * object once per tile. The first whole answer is kept here, once per process and URL, and serves every
 * later read of that URL from memory. The total is bounded: past it, the least recently used object
 * is dropped (and fetched again if read again).
 */

const MiB = 1024 * 1024;

/** Bytes kept across all objects. */
export const WHOLE_OBJECTS_MAX_TOTAL_BYTES = 1024 * MiB;

interface Entry {
  bytes: Promise<Uint8Array>;
  /** Known once the body has arrived; 0 while in flight. */
  size: number;
}

/** Insertion order is use order: the first entry is the least recently used. */
const entries = new Map<string, Entry>();

/** The object at `href` if one is kept or on its way, marked as just used. */
export function keptObject(href: string): Promise<Uint8Array> | undefined {
  const entry = entries.get(href);
  if (entry === undefined) return undefined;
  entries.delete(href);
  entries.set(href, entry);
  return entry.bytes;
}

/**
 * Keeps the object `load` reads for `href`. If one is already on its way, that one is returned and
 * `load` is not called. A load that fails is forgotten, so the next read tries again.
 */
export function keepObject(href: string, load: () => Promise<Uint8Array>): Promise<Uint8Array> {
  const existing = keptObject(href);
  if (existing !== undefined) return existing;
  const entry: Entry = { bytes: load(), size: 0 };
  entries.set(href, entry);
  entry.bytes.then(
    (b) => {
      entry.size = b.byteLength;
      evict();
    },
    () => {
      if (entries.get(href) === entry) entries.delete(href);
    },
  );
  return entry.bytes;
}

function evict(): void {
  let total = 0;
  for (const e of entries.values()) total += e.size;
  for (const [href, e] of entries) {
    if (total <= WHOLE_OBJECTS_MAX_TOTAL_BYTES) break;
    total -= e.size;
    entries.delete(href);
  }
}

/** Drops every kept object (with the shared connections, when a process is done with storage). */
export function forgetKeptObjects(): void {
  entries.clear();
}
