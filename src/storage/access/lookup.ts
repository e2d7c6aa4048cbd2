import dns, { type LookupAddress, type LookupOptions } from 'node:dns';

import { AccessDeniedError, accessPolicy } from './policy.js';

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * The DNS lookup of every storage connection (the HTTP pool's, the S3 clients'): a name that resolves to
 * a link-local or metadata address is refused unless a rule names it, so a URL that passed the policy by
 * name cannot reach such an address through DNS (rebinding included: the check is on the address the
 * socket is about to use). Through `dns.lookup`, looked up at call time, so a test can stand in for DNS.
 */
export function checkedLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dns.lookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err !== null) return callback(err, []);
    const policy = accessPolicy();
    for (const a of addresses) {
      const why = policy?.connectRefusal(hostname, a.address);
      if (why !== undefined) return callback(new AccessDeniedError(hostname, why), []);
    }
    if (options.all === true) return callback(null, addresses);
    const first = addresses[0];
    if (first === undefined) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
    callback(null, first.address, first.family);
  });
}
