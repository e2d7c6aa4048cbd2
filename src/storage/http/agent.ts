import type { Dispatcher } from 'undici';

import { checkedLookup } from '../access/lookup.js';
import { AccessDeniedError, accessPolicy } from '../access/policy.js';

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
 *
 * The access policy (access/policy.ts) is asked twice: before each request, redirected ones included
 * (a redirect to a URL no rule allows fails as the first request would), and at connect time, with the
 * address the host name resolved to, so a name that resolves to a link-local or metadata address is
 * refused even when its URL passed the first check.
 */
let shared: Dispatcher | undefined;

export async function sharedHttpDispatcher(): Promise<Dispatcher> {
  const { Agent, interceptors } = await undiciModule();
  shared ??= new Agent({
    keepAliveTimeout: 10_000,
    keepAliveMaxTimeout: 60_000,
    // Bounds sockets per origin; readRanges' concurrency stays well under it.
    connections: 32,
    connect: { lookup: checkedLookup },
  }).compose(allowedOnly, interceptors.redirect({ maxRedirections: 5 }));
  return shared;
}

/** Closes the shared pool (idle sockets included) so a CLI can exit at once; the next request opens a new one. */
export async function closeSharedHttpDispatcher(): Promise<void> {
  const dispatcher = shared;
  shared = undefined;
  await dispatcher?.close();
}

/** Refuses, before any byte is sent, a request (or a redirect) to a URL the access policy does not let be read. */
const allowedOnly: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (opts, handler) => {
  const url = new URL(opts.path, opts.origin).href;
  const why = accessPolicy()?.refusal(url, 'read');
  if (why === undefined) return dispatch(opts, handler);
  // As undici's own interceptors fail a request before it starts: no controller yet.
  handler.onResponseError?.(null as unknown as Dispatcher.DispatchController, new AccessDeniedError(url, why));
  return true;
};
