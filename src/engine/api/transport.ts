/**
 * How clients and Taskmen reach a Jobman over HTTP(S): the global fetch, or, given the PEM of a
 * certificate authority (`--ca`, `DATABOX_CA`), undici's fetch with an agent that trusts that CA, so a
 * Jobman with a certificate of its own (self-signed, or from a private CA) is verified, not trusted
 * blindly. undici loads only when a CA is given.
 */
export type Fetch = (url: string, init: RequestInit) => Promise<Response>;

export function jobmanFetch(ca: string | undefined): Fetch {
  if (ca === undefined) return (url, init) => fetch(url, init);
  let withCa: Promise<Fetch> | undefined;
  return async (url, init) => {
    withCa ??= import('undici').then(({ Agent, fetch: undiciFetch }) => {
      const dispatcher = new Agent({ connect: { ca } });
      return (u: string, i: RequestInit) => undiciFetch(u, { ...(i as object), dispatcher } as Parameters<typeof undiciFetch>[1]) as unknown as Promise<Response>;
    });
    return (await withCa)(url, init);
  };
}
