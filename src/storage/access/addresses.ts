import { isIP } from 'node:net';

/**
 * Hosts a job must not reach unless the operator names them: cloud metadata services (which hand out
 * the machine's credentials) and link-local addresses, where they and other host-only services live.
 */

/** Metadata services by name and by address (AWS, GCP, Azure, Alibaba, the AWS IPv6 endpoint). */
const METADATA_HOSTS = new Set(['metadata', 'metadata.google.internal', 'metadata.goog', '169.254.169.254', '100.100.100.200', 'fd00:ec2::254', 'instance-data', 'instance-data.ec2.internal']);

/** The host without IPv6 brackets or a trailing dot, lower case. */
export function bareHost(host: string): string {
  let h = host.toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h;
}

/**
 * Why a host (a name or an address) is refused unless named, or undefined when it is an ordinary host.
 * IPv4-mapped IPv6 addresses (`::ffff:169.254.169.254`) count as the IPv4 address they carry.
 */
export function restrictedHost(host: string): string | undefined {
  const h = bareHost(host);
  if (METADATA_HOSTS.has(h)) return 'a cloud metadata service';
  const v4 = ipv4Of(h);
  if (v4 !== undefined) {
    if (METADATA_HOSTS.has(v4)) return 'a cloud metadata service';
    if (v4.startsWith('169.254.')) return 'a link-local address';
    return undefined;
  }
  if (isIP(h) === 6) {
    const full = expandIpv6(h);
    if (full === undefined) return undefined;
    if (full === expandIpv6('fd00:ec2::254')) return 'a cloud metadata service';
    // fe80::/10: the first 10 bits are 1111111010.
    if ((parseInt(full.slice(0, 4), 16) & 0xffc0) === 0xfe80) return 'a link-local address';
  }
  return undefined;
}

/** The dotted IPv4 address `h` is or carries (as `::ffff:a.b.c.d` or `::ffff:xxxx:xxxx`), else undefined. */
function ipv4Of(h: string): string | undefined {
  if (isIP(h) === 4) return h;
  if (isIP(h) !== 6) return undefined;
  const full = expandIpv6(h);
  if (full === undefined || !full.startsWith('0000:0000:0000:0000:0000:ffff:')) return undefined;
  const words = full.split(':').slice(6).map((w) => parseInt(w, 16));
  return [words[0]! >> 8, words[0]! & 255, words[1]! >> 8, words[1]! & 255].join('.');
}

/** Eight 4-digit hex words, or undefined when `h` is not an IPv6 address. */
function expandIpv6(h: string): string | undefined {
  let text = h.split('%')[0]!;
  // A trailing dotted IPv4 part becomes two hex words.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted !== null) {
    const b = dotted[1]!.split('.').map(Number);
    text = text.slice(0, -dotted[1]!.length) + `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] === '' ? [] : halves[0]!.split(':');
  const tail = halves.length === 2 ? (halves[1] === '' ? [] : halves[1]!.split(':')) : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  const words = [...head, ...Array<string>(fill).fill('0'), ...tail];
  if (words.length !== 8) return undefined;
  return words.map((w) => w.padStart(4, '0')).join(':');
}
