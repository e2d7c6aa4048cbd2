// The malformed requests of the API fuzzer. Request N is a pure function of the run's seed, N and the
// fixed state the run sets up first (its jobs, its joined nodes), so a single request replays alone.
// A request is { method, path, headers: [[name, value]], body: base64 | null, what }: raw enough to
// carry invalid UTF-8, odd header values and paths no HTTP client library would send. `{{token}}` in
// a header stands for the Jobman's API token (a fresh Jobman has a fresh one).
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';

import { caseRandom } from './prng.mjs';

export const TOKEN = '{{token}}';
/** The nodes the run joins before it starts, with the incarnations it joins them with. */
export const NODES = ['fz-a', 'fz-b', 'fz-c'].map((name, i) => ({ name, incarnation: `fuzz-incarnation-${i}` }));
/** What the run submits before it starts: counted jobs (ids 1..JOBS in a fresh store), some pinned to its nodes. */
export const SETUP_JOBS = [
  { task: 'builtin:noop', count: 3 },
  { task: 'builtin:noop', count: 5, node: 'fz-a' },
  { task: 'builtin:fail', count: 2, args: 5, node: 'fz-b' },
  { task: 'builtin:noop', inputs: [1, 'two', { three: 3 }], node: 'fz-c' },
];
/** A bundle the run uploads first, so `udf:<sha>` names something. */
export const UDF_BUNDLE = Buffer.from('export default { map: (x) => x };\n');
export const UDF_SHA = createHash('sha256').update(UDF_BUNDLE).digest('hex');

const ODD_IDS = [
  '0x10', '1e3', '%201', '-1', '0', '1.5', '+1', ' 1', '1 ', '01', '١', '１', 'Infinity', 'NaN', '1e400', '-0',
  '99999999999999999999', '9007199254740993', '18446744073709551616', '2147483648', '%00', '%FF', '%C0%AE', '..', '1%2F2',
  'a'.repeat(3000), '%E2%80%8B1', 'true', 'null', '[]', '{}', '1;2', '1,2', '%0A1', '1%23', '__proto__', 'constructor',
];
const ODD_NAMES = [
  'fz-a', 'fz-b', 'real-node', '', '-x', '.', '..', '%2E%2E', 'a'.repeat(63), 'a'.repeat(64), 'a'.repeat(5000), 'n%00', 'é', '%C3%A9', 'x%2Fy',
  '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'a b', 'a%20b', 'UPPER', '0', '1e3',
];
const ODD_NUMBERS = [0, -0, -1, 1, 1.5, 2 ** 31 - 1, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, 1e21, 1e308, -1e308, 5e-324, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER];
const ODD_STRINGS = ['', ' ', 'a'.repeat(10_000), '\u0000', '\uD800', '\uFFFF', '😀'.repeat(100), '<script>', "'; DROP TABLE jobs; --", '../../etc/passwd', 'builtin:', 'udf:', `udf:${'0'.repeat(64)}`, `udf:${UDF_SHA}`, 'builtin:noop', 'builtin:crash', 'builtin:sleep', 'builtin:raster-window', 'file:///etc/passwd', '%s%s%n'];
const CONTENT_TYPES = [
  'application/json', 'application/json; charset=utf-8', 'application/json; charset=latin1', 'application/json;charset=utf-16', 'text/plain', 'text/json', 'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x', 'application/octet-stream', 'application/json, text/plain', '*/*', '', 'application/JSON', 'application/json; boundary=', 'application/merge-patch+json',
];

/** A random JSON value of bounded size and depth, with the values parsers and validators trip on. */
function junk(r, depth = 0) {
  const k = r.int(depth > 3 ? 4 : 7);
  if (k === 0) return r.pick(ODD_NUMBERS);
  if (k === 1) return r.pick(ODD_STRINGS);
  if (k === 2) return r.pick([null, true, false]);
  if (k === 3) return r.int(10);
  if (k === 4) return Array.from({ length: r.int(4) }, () => junk(r, depth + 1));
  if (k === 5) return Object.fromEntries(Array.from({ length: r.int(4) }, () => [r.pick(['a', '__proto__', 'constructor', 'id', 'task', '', 'x'.repeat(300)]), junk(r, depth + 1)]));
  return r.pick(['{}', '[]', 'null']);
}

/** Damages a JSON-able object: a field replaced, removed or added, or the whole value swapped. */
function mutateObject(obj, r) {
  const out = JSON.parse(JSON.stringify(obj));
  const keys = Object.keys(out);
  const n = 1 + r.int(3);
  const what = [];
  for (let i = 0; i < n; i++) {
    const op = r.int(5);
    const key = r.pick(keys);
    if (op === 0 && key !== undefined) {
      delete out[key];
      what.push(`-${key}`);
    } else if (op === 1) {
      const extra = r.pick(['extra', '__proto__', 'constructor', 'toString', '']);
      out[extra] = junk(r);
      what.push(`+${extra}`);
    } else if (key !== undefined) {
      out[key] = op === 2 ? r.pick(ODD_NUMBERS) : op === 3 ? r.pick(ODD_STRINGS) : junk(r);
      what.push(`${key}=…`);
    }
  }
  return { value: out, what: what.join(' ') };
}

/** How a JSON value is turned into the bytes of a body: usually well formed, sometimes not. */
function encodeBody(value, r) {
  const text = JSON.stringify(value) ?? 'null';
  const k = r.int(20);
  if (k === 0) return { body: Buffer.from(text.slice(0, r.int(text.length))), how: 'truncated JSON' };
  if (k === 1) return { body: Buffer.concat([Buffer.from(text.slice(0, text.length >> 1)), Buffer.from([0xff, 0xfe, 0xc0, 0x80, 0xed, 0xa0, 0x80]), Buffer.from(text.slice(text.length >> 1))]), how: 'invalid UTF-8' };
  if (k === 2) return { body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]), how: 'BOM' };
  if (k === 3) return { body: Buffer.from(`${text}${text}`), how: 'two JSON texts' };
  if (k === 4) return { body: Buffer.from(text.replace(/"/g, "'")), how: 'single quotes' };
  if (k === 5) return { body: Buffer.from(`{"a":${'1'.repeat(5000)}}`), how: 'a 5000-digit number' };
  if (k === 6) return { body: Buffer.from(text.replace(/:/, ':NaN,"x":')), how: 'NaN' };
  if (k === 7) return { body: Buffer.from(''), how: 'empty' };
  return { body: Buffer.from(text), how: 'JSON' };
}

function authHeader(r) {
  if (r.chance(0.85)) return [['authorization', `Bearer ${TOKEN}`]];
  const v = r.pick([
    null, 'Basic Zm9vOmJhcg==', 'Bearer', 'Bearer ', `bearer ${TOKEN}`, `BEARER ${TOKEN}`, `Bearer ${TOKEN} extra`, `Bearer  ${TOKEN}  `, TOKEN, `Bearer ${TOKEN}x`, `Bearer x${TOKEN}`,
    `Bearer ${'A'.repeat(40)}`, `Bearer ${'A'.repeat(8000)}`, 'Bearer \u00e9\u00e9', 'Digest x', 'Bearer null', 'Bearer undefined', `Bearer ${TOKEN},Bearer ${TOKEN}`,
  ]);
  return v === null ? [] : [['authorization', v]];
}

/** Extra odd headers, sometimes: duplicates, huge values, hop-by-hop headers, lying encodings. */
function oddHeaders(r) {
  if (!r.chance(0.25)) return [];
  return [
    r.pick([
      ['x-databox-client', r.pick(['a/1', '/', 'x'.repeat(300) + '/1', 'host/99999999999', 'h/-1', '%00/1'])],
      ['x-big', 'x'.repeat(r.pick([1000, 20_000, 70_000]))],
      ['content-encoding', r.pick(['gzip', 'br', 'deflate', 'identity', 'x'])],
      ['expect', '100-continue'],
      ['accept', r.pick(['text/event-stream', 'application/xml', '*/*;q=0', ''])],
      ['host', r.pick(['', 'evil.example', 'a'.repeat(2000)])],
      ['connection', r.pick(['upgrade', 'keep-alive, close', 'te'])],
      ['upgrade', 'websocket'],
      ['x-forwarded-for', '1.2.3.4, ::1'],
      ['accept-encoding', 'gzip;q=1.0, identity; q=0.5, *;q=0'],
    ]),
  ];
}

function jsonRequest(method, path, value, r, what) {
  const { body, how } = encodeBody(value, r);
  const ct = r.chance(0.85) ? 'application/json' : r.pick(CONTENT_TYPES);
  const headers = [...authHeader(r), ...(ct === '' ? [] : [['content-type', ct]]), ...oddHeaders(r)];
  return { method, path, headers, body: body.toString('base64'), what: `${what} (${how}, ${ct || 'no content type'})` };
}

const validJoin = (r) => ({ incarnation: `fuzz-join-${r.int(1000)}-xxxxxxxx`, workers: 1 + r.int(4), startedAt: Date.UTC(2026, 0, 1) });
const validChange = (r) => ({ id: String(1 + r.int(20)), attempt: 1 + r.int(3), to: r.pick(['running', 'succeeded', 'failed']), worker: 'w0', ...(r.chance(0.5) ? { result: junk(r) } : {}), ...(r.chance(0.3) ? { error: { message: 'x', code: 'E' } } : {}) });
const validHeartbeat = (r, node) => ({
  incarnation: r.chance(0.7) ? node.incarnation : r.pick(['forged-incarnation', `${node.incarnation}x`, 'short', 'x'.repeat(64), 'x'.repeat(65), NODES[0].incarnation]),
  seq: r.chance(0.5) ? 1 + r.int(50) : r.pick(ODD_NUMBERS),
  ack: r.chance(0.5) ? r.int(50) : r.pick(ODD_NUMBERS),
  want: r.pick([0, 0, 1, 4, 100_000, 100_001, -1]),
  changes: Array.from({ length: r.pick([0, 0, 1, 3, 20]) }, () => validChange(r)),
  workers: r.chance(0.8) ? [{ slot: 0, pid: 123, state: 'idle', holds: 0, heartbeatAgeMs: 5 }] : Array.from({ length: r.pick([0, 2, 1025]) }, (_, i) => ({ slot: i, pid: null, state: 'busy', holds: 1, heartbeatAgeMs: null, progress: r.pick([0, 0.5, 1, 2, -1]) })),
  metrics: r.chance(0.5)
    ? null
    : { cpu: r.pick([0, 0.5, 1, 2, -1]), cores: r.pick([1, 0, 2 ** 31]), memoryTotalBytes: r.pick([0, 2 ** 40, 2 ** 60]), memoryFreeBytes: 1, networkRxBytes: null, networkTxBytes: r.pick([null, -1, 5]), rssBytes: 1 },
});

/** The kinds of request, each with its share of the run. */
const KINDS = [
  ['submit', 18, (r) => {
    const base = r.pick([
      { task: 'builtin:noop', count: 1 + r.int(3) },
      { task: 'builtin:noop', inputs: [junk(r)] },
      { task: `udf:${UDF_SHA}`, count: 1, node: r.pick(NODES).name },
      { task: 'builtin:fail', count: 2, args: 1, retries: 1, timeoutMs: 1000, onFailure: 'continue', priority: true, preferNodes: ['fz-a'], memoryMb: 256 },
    ]);
    const { value, what } = r.chance(0.9) ? mutateObject(base, r) : { value: junk(r), what: 'junk body' };
    // Counted jobs stay small: a huge valid count is a legitimate (slow) request, not a malformed one.
    if (typeof value?.count === 'number' && value.count > 1000 && value.count <= 10_000_000) value.count = 1000;
    if (Array.isArray(value?.inputs) && value.inputs.length > 1000) value.inputs.length = 1000;
    return jsonRequest('POST', '/v1/jobs', value, r, `submit ${what}`);
  }],
  ['deep body', 3, (r) => {
    const depth = r.pick([100, 1000, 10_000, 100_000]);
    const arrays = `${'['.repeat(depth)}${']'.repeat(depth)}`;
    const objects = `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    // Deep where the value is allowed (args, inputs), where validation fails on it (the root, a field
    // of the wrong type, a field not allowed), and where a heartbeat carries results.
    const [where, body] = r.pick([
      ['args', `{"task":"builtin:noop","count":1,"args":${arrays}}`],
      ['inputs', `{"task":"builtin:noop","inputs":[${objects}]}`],
      ['the root', r.chance(0.5) ? arrays : objects],
      ['task', `{"task":${arrays},"count":1}`],
      ['an unknown field', `{"task":"builtin:noop","count":1,"zzz":${objects}}`],
      ['a result', `{"incarnation":"${NODES[0].incarnation}","seq":1,"ack":0,"want":0,"changes":[{"id":"1","attempt":1,"to":"succeeded","result":${arrays}}],"workers":[],"metrics":null}`],
    ]);
    const path = r.pick(['/v1/jobs', `/v1/nodes/${r.pick(NODES).name}/heartbeat`, `/v1/nodes/fz-join-${r.int(50)}/join`, `/v1/nodes/fz-join-${r.int(50)}/leave`]);
    return { method: 'POST', path, headers: [...authHeader(r), ['content-type', 'application/json']], body: Buffer.from(body).toString('base64'), what: `nested ${depth} deep in ${where}` };
  }],
  ['big body', 1, (r) => {
    const mb = r.pick([1, 4, 16]);
    const fill = r.chance(0.5) ? `{"task":"builtin:noop","count":1,"args":"${'x'.repeat(mb * 1024 * 1024)}"}` : `[${'0,'.repeat((mb * 1024 * 1024) >> 1)}0]`;
    return { method: 'POST', path: r.pick(['/v1/jobs', `/v1/nodes/fz-a/heartbeat`]), headers: [...authHeader(r), ['content-type', 'application/json']], body: Buffer.from(fill).toString('base64'), what: `a ${mb} MB body` };
  }],
  ['job by id', 14, (r) => {
    const id = r.chance(0.3) ? String(1 + r.int(SETUP_JOBS.length)) : r.pick(ODD_IDS);
    const [method, suffix] = r.pick([['GET', ''], ['GET', '/results'], ['GET', '/errors'], ['GET', '/events'], ['DELETE', ''], ['POST', ''], ['PUT', '/results']]);
    const query = r.chance(0.4) ? `?${r.pick(['from', 'limit', 'x', '__proto__', 'from[]'])}=${r.pick(ODD_IDS)}${r.chance(0.3) ? `&limit=${r.pick(ODD_IDS)}` : ''}` : '';
    // DELETE of a setup job would cancel the work the heartbeats below report on: only odd ids are deleted.
    const safeId = method === 'DELETE' && /^[1-9]$/.test(id) ? '0x10' : id;
    return { method, path: `/v1/jobs/${safeId}${suffix}${query}`, headers: [...authHeader(r), ...oddHeaders(r)], body: null, what: `${method} job ${JSON.stringify(safeId).slice(0, 40)}${suffix}${query.slice(0, 40)}` };
  }],
  ['list', 4, (r) => {
    const query = r.pick(['', `?limit=${r.pick(ODD_IDS)}`, `?before=${r.pick(ODD_IDS)}`, '?limit=1&limit=2', '?limit=1000', '?limit=1001', `?before=${r.pick(ODD_IDS)}&limit=${r.pick(ODD_IDS)}`, '?x=1', '?%ZZ=1', '?limit']);
    const path = r.pick(['/v1/jobs', '/v1/nodes', '/healthz', '/metrics', '/openapi.json']);
    return { method: 'GET', path: `${path}${query}`, headers: [...authHeader(r), ...oddHeaders(r)], body: null, what: `GET ${path}${query.slice(0, 40)}` };
  }],
  ['udf', 8, (r) => {
    const sha = r.chance(0.4) ? UDF_SHA : r.pick([UDF_SHA.toUpperCase(), '0'.repeat(64), '0'.repeat(63), 'g'.repeat(64), '', ...ODD_IDS]);
    if (r.chance(0.3)) return { method: 'GET', path: `/v1/udfs/${sha}`, headers: authHeader(r), body: null, what: `GET udf ${sha.slice(0, 20)}` };
    const body = r.pick([UDF_BUNDLE, Buffer.alloc(0), Buffer.from([0xff, 0xfe, 0x00]), Buffer.from('{"a":1}'), Buffer.alloc(1 << 16, 7)]);
    const ct = r.chance(0.6) ? 'application/octet-stream' : r.pick(CONTENT_TYPES);
    return { method: 'PUT', path: `/v1/udfs/${sha}`, headers: [...authHeader(r), ...(ct ? [['content-type', ct]] : []), ...oddHeaders(r)], body: body.toString('base64'), what: `PUT udf ${sha.slice(0, 20)} ${body.length} B as ${ct || 'nothing'}` };
  }],
  ['join', 8, (r) => {
    // Joins go to names of their own (or odd names): a join under a setup node's name would replace its incarnation.
    const name = r.chance(0.6) ? `fz-join-${r.int(50)}` : r.pick(ODD_NAMES.filter((n) => !n.startsWith('fz-')));
    const { value, what } = r.chance(0.8) ? mutateObject(validJoin(r), r) : { value: junk(r), what: 'junk body' };
    return jsonRequest('POST', `/v1/nodes/${name}/join`, value, r, `join ${name.slice(0, 20)} ${what}`);
  }],
  ['heartbeat', 30, (r) => {
    const node = r.pick(NODES);
    const name = r.chance(0.85) ? node.name : r.pick(ODD_NAMES);
    const hb = validHeartbeat(r, node);
    // A heartbeat that asks for work while reporting nothing is held for a moment (a long poll): fine.
    const { value, what } = r.chance(0.6) ? mutateObject(hb, r) : { value: hb, what: 'forged fields' };
    return jsonRequest('POST', `/v1/nodes/${name}/heartbeat`, value, r, `heartbeat ${name.slice(0, 20)} ${what}`);
  }],
  ['leave', 3, (r) => {
    // A leave of a setup node with its true incarnation would end it: such leaves carry a forged one.
    const name = r.pick([...ODD_NAMES, `fz-join-${r.int(50)}`]);
    const value = r.chance(0.7) ? { incarnation: r.pick(['forged-incarnation', '', 'x'.repeat(100), 5, null]) } : junk(r);
    return jsonRequest('POST', `/v1/nodes/${name}/leave`, value, r, `leave ${name.slice(0, 20)}`);
  }],
  ['raw', 4, (r) => {
    const method = r.pick(['PATCH', 'OPTIONS', 'TRACE', 'HEAD', 'FOO', 'CONNECT', 'GET', 'POST', 'PROPFIND']);
    const path = r.pick(['/', '/v1', '/v1/', '/v1/jobs/', '//v1/jobs', '/v1/jobs?', '/v1/jobs#x', '/V1/JOBS', '/v1/jobs/1/../../healthz', '/%2e%2e/%2e%2e/etc/passwd', '*', `/${'a'.repeat(9000)}`, '/v1/nodes/fz-a/heartbeat/', '/v1/udfs/']);
    return { method, path, headers: [...authHeader(r), ...oddHeaders(r)], body: r.chance(0.3) ? Buffer.from('{}').toString('base64') : null, what: `${method} ${path.slice(0, 40)}` };
  }],
];
const TOTAL = KINDS.reduce((s, [, w]) => s + w, 0);

/** Request `index` of a run seeded `seed`. */
export function apiCase(seed, index) {
  const r = caseRandom(seed, index);
  let x = r.float() * TOTAL;
  for (const [kind, w, make] of KINDS) {
    x -= w;
    if (x < 0) return { kind, ...make(r) };
  }
  const [kind, , make] = KINDS[0];
  return { kind, ...make(r) };
}
