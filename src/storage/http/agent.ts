import type { Dispatcher } from 'undici';

type Undici = typeof import('undici');
let undici: Promise<Undici> | undefined;

/** undici, loaded on the first http(s):// read: about 0.25 s of modules a local read never needs. */
export function undiciModule(): Promise<Undici> {
  return (undici ??= import('undici'));
}

/**
 * One keep-alive connection pool per process, shared by every HTTP source.
 *
 * A COG read is many small range requests to the same host; a fresh TCP (and TLS) handshake for
 * each would cost more than the bytes. Redirects are followed because signed URLs and release
 * downloads commonly answer with one.
 */
let shared: Dispatcher | undefined;

export async function sharedHttpDispatcher(): Promise<Dispatcher> {
  const { Agent, interceptors } = await undiciModule();
  shared ??= new Agent({
    keepAliveTimeout: 10_000,
    keepAliveMaxTimeout: 60_000,
    // Bounds sockets per origin; readRanges' concurrency stays well under it.
    connections: 32,
  }).compose(interceptors.redirect({ maxRedirections: 5 }));
  return shared;
}

/** Closes the shared pool (idle sockets included) so a CLI can exit at once; the next request opens a new one. */
export async function closeSharedHttpDispatcher(): Promise<void> {
  const dispatcher = shared;
  shared = undefined;
  await dispatcher?.close();
}
