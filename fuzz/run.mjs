// npm run fuzz [-- --seed N --tiffs N --requests N --only tiff|api --workers N --case N --out DIR]
//
// Seeded fuzzing of the two places outside input reaches: the GeoTIFF reader (mutated files) and the
// Jobman's HTTP API (malformed requests against a live Jobman process). Prints a summary and exits 1
// when anything was found: a crash, a hang, a 5xx answer, an error without a code or the file's name,
// or memory that grows with the number of cases. See docs/fuzzing.md.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';


const root = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '20261203' },
    tiffs: { type: 'string', default: '100000' },
    requests: { type: 'string', default: '10000' },
    only: { type: 'string' },
    workers: { type: 'string', default: '2' },
    case: { type: 'string' },
    out: { type: 'string' },
    'hang-ms': { type: 'string', default: '5000' },
  },
});
const int = (name, min) => {
  const v = Number(values[name]);
  if (!Number.isSafeInteger(v) || v < min) {
    console.error(`fuzz: --${name} must be an integer ≥ ${min} (got ${values[name]})`);
    process.exit(2);
  }
  return v;
};
if (values.only !== undefined && values.only !== 'tiff' && values.only !== 'api') {
  console.error(`fuzz: --only must be tiff or api (got ${values.only})`);
  process.exit(2);
}
if (values.case !== undefined && values.only === undefined) {
  console.error('fuzz: --case needs --only tiff or --only api');
  process.exit(2);
}
const seed = int('seed', 0);
const hangMs = int('hang-ms', 100);
const only = values.case !== undefined ? int('case', 0) : undefined;
const out = values.out ?? join(root, 'fuzz-findings', `seed-${seed}`);
const log = (line) => process.stderr.write(`${line}\n`);

const rows = [];
let failed = false;
const t0 = performance.now();

if (values.only !== 'api') {
  const count = int('tiffs', 1);
  log(`tiff: ${only !== undefined ? `case ${only}` : `${count} mutated GeoTIFFs`}, seed ${seed}, ${int('workers', 1)} thread(s)`);
  const { fuzzTiffs } = await import('./tiff.mjs');
  const r = await fuzzTiffs({ seed, count, workers: int('workers', 1), out, hangMs, only, log });
  const c = r.counts;
  rows.push(['GeoTIFF cases', c.cases], ['  read', c.read], ['  refused (DataboxError)', c.refused], ['  crashes', c.crash], ['  errors not naming the file', c.unnamed], [`  hangs (> ${hangMs} ms)`, c.hang]);
  rows.push(['  threads whose heap grew', `${r.memory.leaking} of ${r.memory.threads.length} (limit ${r.memory.limitBytesPerCase} B/case)`]);
  rows.push(['  seconds', (r.ms / 1000).toFixed(1)], ['  cases per second', (c.cases / (r.ms / 1000)).toFixed(0)], ['  seed files', r.seeds]);
  log(`tiff: error codes ${JSON.stringify(r.codes)}`);
  for (const t of r.memory.threads) log(`tiff: thread heap after GC ${t.firstHeapMb} -> ${t.lastHeapMb} MB over ${t.cases} cases (slope ${t.bytesPerCase} B/case); array buffers at most ${t.peakArrayBuffersMb} MB; process RSS ${t.rssFirstMb} -> ${t.rssLastMb} MB`);
  report(r.findings);
  if (c.crash + c.unnamed + c.hang + r.memory.leaking > 0) failed = true;
}

if (values.only !== 'tiff') {
  const count = int('requests', 1);
  log(`api: ${only !== undefined ? `request ${only}` : `${count} malformed requests`}, seed ${seed}`);
  const { fuzzApi } = await import('./api.mjs');
  const r = await fuzzApi({ seed, count, out, hangMs, only, log });
  const c = r.counts;
  rows.push(['API requests', c.requests], ['  2xx', c['2xx']], ['  4xx', c['4xx']], ['  5xx', c['5xx']], ['  closed without an answer', c.closed], [`  hangs (> ${hangMs} ms, again alone)`, c.hang], ['  slow (answered when sent alone)', c.slow], ['  Jobman died', c.died ? 'yes' : 'no']);
  rows.push(['  Jobman RSS (MB)', `${r.memory.startMb} -> ${r.memory.endMb} (after GC: ${r.memory.afterGcMb ?? 'n/a'})`], ['  memory growth flagged', r.memory.leaking ? 'yes' : 'no']);
  rows.push(['  seconds', (r.ms / 1000).toFixed(1)], ['  requests per second', (c.requests / (r.ms / 1000)).toFixed(0)]);
  log(`api: statuses ${JSON.stringify(r.statuses)}`);
  report(r.findings);
  if (c['5xx'] + c.hang > 0 || c.died || r.memory.leaking) failed = true;
}

const width = Math.max(...rows.map(([k]) => k.length));
console.log(`\nfuzz summary (seed ${seed}, ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
for (const [k, v] of rows) console.log(`  ${k.padEnd(width)}  ${v}`);
console.log(failed ? `\nFOUND PROBLEMS: reproducers in ${out}` : '\nnothing found');
process.exit(failed ? 1 : 0);

/** Prints one line per distinct finding (kind and first line of the error), with a reproducer. */
function report(findings) {
  const seen = new Map();
  for (const f of findings) {
    const key = `${f.kind}: ${f.error ?? ''} ${String(f.message ?? '').split('\n')[0].replace(/\d+/g, 'N').slice(0, 160)}`;
    if (!seen.has(key)) seen.set(key, { f, n: 0 });
    seen.get(key).n++;
  }
  for (const [key, { f, n }] of seen) log(`  ${n}× ${key}\n     e.g. ${f.repro ?? f.replay ?? ''}`);
}
