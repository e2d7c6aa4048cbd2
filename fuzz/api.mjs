// The API fuzzer: starts a live Jobman (a real process, fuzz/jobman-child.mjs), sets up a little
// state (a UDF bundle, three joined nodes kept alive by a heartbeat loop, a few jobs), then sends the
// seeded malformed requests of api-cases.mjs over raw sockets, a few at a time. It counts the answers by
// class, calls a request with no answer within the hang limit a hang, checks after every batch that
// the Jobman is alive and answers /healthz, and measures its memory (heap after GC, RSS).
import { Buffer } from 'node:buffer';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { mb, slope } from './measure.mjs';
import { apiCase, NODES, SETUP_JOBS, TOKEN, UDF_BUNDLE, UDF_SHA } from './api-cases.mjs';
import { mintNodeToken } from '../dist/engine/index.js';

const CHILD = fileURLToPath(new URL('./jobman-child.mjs', import.meta.url));
/** Requests in flight at once. */
const CONCURRENCY = 8;
/** The Jobman is checked (alive, /healthz) after every batch of this many requests. */
const BATCH = 100;
/** How often the setup nodes' own heartbeats go out (under the Jobman's 3 s death limit). */
const KEEPER_MS = 500;
/** The Jobman's heap is sampled (after a GC) every this many requests. */
const MEMORY_EVERY = 1000;
/** Findings written per kind; the rest are counted only. */
const MAX_WRITTEN = 200;
/**
 * Heap growth of the Jobman (after GC) that counts as unbounded: a slope of more than this many bytes
 * per request over the samples after warm-up. What a Jobman keeps per request is bounded by design (jobs
 * live in SQLite, queued subtasks in a window, nodes in a table of the names that joined), and a clean
 * 10,000-request run measures about 55 B/request (code compiled as new paths warm up). The leak this
 * fuzzer found in zod's memoizer (14 KB per deeply nested body, one request in 30) showed as 400 to
 * 470 B/request, which this limit catches.
 */
export const LEAK_BYTES_PER_REQUEST = 256;

/** Starts the Jobman process; resolves with it, its URL and its token. */
export async function startJobman(home) {
  const child = fork(CHILD, [home], { execArgv: ['--expose-gc'], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-20_000)));
  const [msg] = await Promise.race([
    once(child, 'message'),
    once(child, 'exit').then(([code]) => {
      throw new Error(`the Jobman exited with code ${code} before it listened: ${stderr}`);
    }),
  ]);
  const { port } = new URL(msg.url);
  // The token each request's TOKEN stands for: on a node's Taskman link, that node's own token (the API
  // token does not open the link); elsewhere, the API token.
  const secret = readFileSync(join(home, 'node-secret'), 'utf8').trim();
  const tokenFor = (path) => {
    const m = /^\/v1\/nodes\/([^/?#]+)\/(?:join|heartbeat|leave)/.exec(path);
    if (m !== null) {
      try {
        return mintNodeToken(secret, decodeURIComponent(m[1]));
      } catch {
        // Not a node name: the request is refused whatever it carries.
      }
    }
    return msg.token;
  };
  return { child, url: msg.url, port: Number(port), token: msg.token, tokenFor, stderr: () => stderr };
}

/**
 * Whether the Jobman is alive and answers /healthz. A batch may end with a 16 MB body still being
 * parsed (seconds on a loaded machine, the event loop blocked meanwhile), so it gets three tries of
 * the hang limit each before it counts as deaf.
 */
async function healthy(jm, hangMs) {
  let answer;
  for (let i = 0; i < 3; i++) {
    if (jm.child.exitCode !== null || jm.child.signalCode !== null) return undefined;
    answer = await send(jm.port, { method: 'GET', path: '/healthz', headers: [], body: null }, jm.tokenFor, hangMs);
    if (answer.status === 200) return answer;
  }
  return answer;
}

/** The Jobman's heap after a full GC, and its RSS, over its IPC channel. */
export async function jobmanMemory(jm) {
  jm.child.send('memory');
  const [msg] = await once(jm.child, 'message', { signal: AbortSignal.timeout(30_000) });
  return msg.memory;
}

/** RSS from /proc/<pid>/status, in bytes. */
function rssOf(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/**
 * Sends one request over a fresh connection and waits for the status line. Resolves with
 * `{ status, head }`, `{ closed }` when the server hung up without answering, or `{ hang }` after
 * `hangMs` without an answer. The body of a 5xx answer is read too, for the report. `token(path)` gives
 * the token that TOKEN in the headers stands for.
 */
export function send(port, req, token, hangMs) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const socket = connect({ host: '127.0.0.1', port });
    let buf = Buffer.alloc(0);
    let status;
    let settled = false;
    const finish = (value) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ms: Math.round(performance.now() - t0), ...value });
    };
    const timer = setTimeout(() => finish(status !== undefined ? { status, head: buf.toString('latin1', 0, 2000) } : { hang: true }), hangMs);
    socket.on('error', (err) => finish(status !== undefined ? { status, head: buf.toString('latin1', 0, 2000) } : { closed: err.code ?? err.message }));
    socket.on('close', () => finish(status !== undefined ? { status, head: buf.toString('latin1', 0, 2000) } : { closed: 'closed' }));
    socket.on('data', (d) => {
      if (buf.length < 64 * 1024) buf = Buffer.concat([buf, d]);
      // An interim answer (100 Continue to an `expect` header) is not the answer: skip past it.
      while (status === undefined) {
        const m = /^HTTP\/1\.[01] (\d{3})/.exec(buf.toString('latin1', 0, 20));
        if (!m) break;
        const end = buf.indexOf('\r\n\r\n');
        if (m[1].startsWith('1') && end !== -1) buf = buf.subarray(end + 4);
        else if (!m[1].startsWith('1')) status = Number(m[1]);
        else break;
      }
      // Anything but a server error is judged by its status alone; an event stream never ends.
      if (status !== undefined && status < 500 && buf.includes('\r\n\r\n')) finish({ status });
    });
    socket.on('connect', () => {
      const body = req.body === null ? null : Buffer.from(req.body, 'base64');
      const lines = [`${req.method} ${req.path} HTTP/1.1`];
      if (!req.headers.some(([k]) => k.toLowerCase() === 'host')) lines.push(`host: 127.0.0.1:${port}`);
      for (const [k, v] of req.headers) lines.push(`${k}: ${v.replaceAll(TOKEN, token(req.path))}`);
      if (body !== null) lines.push(`content-length: ${body.length}`);
      lines.push('connection: close', '', '');
      socket.write(Buffer.from(lines.join('\r\n'), 'latin1'));
      if (body !== null) socket.write(body);
    });
  });
}

/** The state every run (and every replay) starts from: the bundle, the nodes, the jobs. */
export async function setUp(jm) {
  const auth = [['authorization', `Bearer ${TOKEN}`]];
  const json = (method, path, value) => send(jm.port, { method, path, headers: [...auth, ['content-type', 'application/json']], body: Buffer.from(JSON.stringify(value)).toString('base64') }, jm.tokenFor, 30_000);
  const steps = [
    await send(jm.port, { method: 'PUT', path: `/v1/udfs/${UDF_SHA}`, headers: [...auth, ['content-type', 'application/octet-stream']], body: UDF_BUNDLE.toString('base64') }, jm.tokenFor, 30_000),
    ...(await Promise.all(NODES.map((n) => json('POST', `/v1/nodes/${n.name}/join`, { incarnation: n.incarnation, workers: 1, startedAt: Date.UTC(2026, 0, 1) })))),
  ];
  for (const job of SETUP_JOBS) steps.push(await json('POST', '/v1/jobs', job));
  const bad = steps.find((s) => !(s.status >= 200 && s.status < 300));
  if (bad !== undefined) throw new Error(`setting up the Jobman failed: ${JSON.stringify(bad)}`);
}

/**
 * Keeps the setup nodes alive as a Taskman would: a heartbeat each KEEPER_MS with their true
 * incarnation, taking a little work and reporting it done on the next beat. Returns its stopper.
 */
export function keepNodesAlive(jm) {
  const state = NODES.map((n) => ({ ...n, seq: 0, ack: 0, held: [] }));
  let stopped = false;
  const beat = async (n) => {
    const changes = n.held.map((w) => ({ id: w.id, attempt: w.attempt, to: 'succeeded', worker: 'w0', result: w.index }));
    const value = { incarnation: n.incarnation, seq: ++n.seq, ack: n.ack, want: 2, changes, workers: [], metrics: null };
    const body = Buffer.from(JSON.stringify(value)).toString('base64');
    const answer = await sendForBody(jm.port, { method: 'POST', path: `/v1/nodes/${n.name}/heartbeat`, headers: [['authorization', `Bearer ${TOKEN}`], ['content-type', 'application/json']], body }, jm.tokenFor);
    n.held = [];
    if (answer?.status === 200) {
      n.ack = n.seq;
      n.held = JSON.parse(answer.body).work ?? [];
    } else if (answer?.status === 409) {
      // Dropped (a forged request made it so): join again, as a Taskman would.
      const join = { incarnation: n.incarnation, workers: 1, startedAt: Date.UTC(2026, 0, 1) };
      await send(jm.port, { method: 'POST', path: `/v1/nodes/${n.name}/join`, headers: [['authorization', `Bearer ${TOKEN}`], ['content-type', 'application/json']], body: Buffer.from(JSON.stringify(join)).toString('base64') }, jm.tokenFor, 5000);
      n.seq = 0;
      n.ack = 0;
    }
  };
  const loop = (async () => {
    while (!stopped) {
      const t0 = performance.now();
      await Promise.all(state.map((n) => beat(n).catch(() => undefined)));
      await new Promise((r) => setTimeout(r, Math.max(0, KEEPER_MS - (performance.now() - t0))));
    }
  })();
  return async () => {
    stopped = true;
    await loop;
  };
}

/** A request whose JSON answer the keeper needs: the whole body (connection: close ends it). */
async function sendForBody(port, req, token) {
  const raw = await new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const chunks = [];
    const timer = setTimeout(() => socket.destroy(), 10_000);
    socket.on('data', (d) => chunks.push(d));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    socket.on('connect', () => {
      const body = Buffer.from(req.body, 'base64');
      const head = [`${req.method} ${req.path} HTTP/1.1`, `host: 127.0.0.1:${port}`, ...req.headers.map(([k, v]) => `${k}: ${v.replaceAll(TOKEN, token(req.path))}`), `content-length: ${body.length}`, 'connection: close', '', ''];
      socket.write(head.join('\r\n'));
      socket.write(body);
    });
  });
  const m = /^HTTP\/1\.1 (\d{3})/.exec(raw);
  if (!m) return undefined;
  const at = raw.indexOf('\r\n\r\n');
  let body = raw.slice(at + 4);
  // fastify may answer chunked; the keeper's answers are small, one or a few chunks.
  if (/transfer-encoding: chunked/i.test(raw.slice(0, at))) body = dechunk(body);
  return { status: Number(m[1]), body };
}

function dechunk(text) {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const eol = text.indexOf('\r\n', i);
    const n = parseInt(text.slice(i, eol), 16);
    if (!(n > 0)) break;
    out += text.slice(eol + 2, eol + 2 + n);
    i = eol + 2 + n + 2;
  }
  return out;
}

/** Runs the API fuzzer; see the top of the file. */
export async function fuzzApi({ seed, count, out, hangMs, only, log }) {
  const home = mkdtempSync(join(tmpdir(), 'databox-fuzz-api-'));
  const jm = await startJobman(home);
  const counts = { requests: 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, closed: 0, hang: 0, slow: 0, died: false };
  const hung = [];
  const statuses = {};
  const findings = [];
  const written = new Map();
  const t0 = performance.now();
  let stopKeeper;
  let memory;
  try {
    await setUp(jm);
    stopKeeper = keepNodesAlive(jm);
    const indices = only !== undefined ? [only] : Array.from({ length: count }, (_, i) => i);
    const rssStart = rssOf(jm.child.pid);
    const samples = [];
    let lastReport = t0;

    const record = (kind, index, req, result) => {
      const finding = { kind, index, request: req, result };
      const n = (written.get(kind) ?? 0) + 1;
      written.set(kind, n);
      if (n <= MAX_WRITTEN) {
        mkdirSync(out, { recursive: true });
        const file = join(out, `api-${String(index).padStart(6, '0')}-${kind}.json`);
        finding.file = file;
        finding.repro = `node fuzz/api-replay.mjs ${file}`;
        finding.replay = `npm run fuzz -- --only api --seed ${seed} --case ${index}`;
        writeFileSync(file, `${JSON.stringify(finding, null, 2)}\n`);
      }
      findings.push({ ...finding, message: result.head?.split('\r\n\r\n')[1]?.slice(0, 300) ?? (result.hang ? `no answer within ${hangMs} ms` : ''), error: `${req.kind} ${result.status ?? 'hang'}` });
    };

    for (let b = 0; b < indices.length; b += BATCH) {
      const batch = indices.slice(b, b + BATCH);
      let next = 0;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < batch.length) {
            const index = batch[next++];
            const req = apiCase(seed, index);
            const result = await send(jm.port, req, jm.tokenFor, hangMs);
            counts.requests++;
            if (result.hang) {
              hung.push({ index, req, result });
            } else if (result.closed !== undefined) {
              counts.closed++;
              statuses.closed = (statuses.closed ?? 0) + 1;
            } else {
              const cls = `${Math.floor(result.status / 100)}xx`;
              counts[cls] = (counts[cls] ?? 0) + 1;
              statuses[result.status] = (statuses[result.status] ?? 0) + 1;
              if (result.status >= 500) record('5xx', index, req, result);
            }
          }
        }),
      );
      // Dead, or alive but deaf: either ends the run, with the batch written out to replay.
      const health = await healthy(jm, hangMs);
      if (health?.status !== 200) {
        counts.died = true;
        const why = health === undefined ? `the Jobman exited (${jm.child.exitCode ?? jm.child.signalCode})` : `the Jobman did not answer /healthz (${JSON.stringify(health)})`;
        mkdirSync(out, { recursive: true });
        const file = join(out, `api-batch-${b}-died.json`);
        writeFileSync(file, `${JSON.stringify({ why, stderr: jm.stderr(), requests: batch.map((i) => ({ index: i, ...apiCase(seed, i) })) }, null, 2)}\n`);
        findings.push({ kind: 'died', error: why, message: jm.stderr().slice(-500), repro: `node fuzz/api-replay.mjs ${file}` });
        break;
      }
      if (counts.requests % MEMORY_EVERY === 0 || (only === undefined && counts.requests === indices.length)) samples.push({ requests: counts.requests, ...(await jobmanMemory(jm)) });
      const now = performance.now();
      if (now - lastReport > 10_000) {
        lastReport = now;
        log(`api: ${counts.requests}/${indices.length} requests, ${(counts.requests / ((now - t0) / 1000)).toFixed(0)}/s, ${counts['5xx']} 5xx, ${counts.hang} hangs`);
      }
    }
    // A request unanswered within the limit while seven others were in flight, on a shared machine, may
    // only have been slow: each is sent again alone. One that is still unanswered is a hang; one that
    // is answered now is counted as slow (and by its answer's class).
    for (const { index, req, result } of counts.died ? [] : hung) {
      const again = await send(jm.port, req, jm.tokenFor, hangMs);
      if (again.hang) {
        counts.hang++;
        record('hang', index, req, { ...result, again });
      } else {
        counts.slow++;
        const cls = again.status !== undefined ? `${Math.floor(again.status / 100)}xx` : 'closed';
        counts[cls]++;
        if (again.status >= 500) record('5xx', index, req, again);
        log(`api: request ${index} (${req.what.slice(0, 80)}) had no answer within ${hangMs} ms among the others; alone it got ${again.status ?? again.closed} in ${again.ms} ms`);
      }
    }
    await stopKeeper();
    stopKeeper = undefined;
    if (!counts.died) {
      // The first sample is the warm-up (code compiled, caches filled); growth is judged from the second.
      const after = samples.length >= 3 ? samples.slice(1) : samples;
      const perRequest = after.length >= 2 ? slope(after.map((x) => [x.requests, x.heapUsed])) : 0;
      memory = {
        startMb: mb(rssStart),
        endMb: mb(rssOf(jm.child.pid)),
        warmHeapMb: after.length > 0 ? mb(after[0].heapUsed) : null,
        afterGcMb: after.length > 0 ? mb(after[after.length - 1].heapUsed) : null,
        bytesPerRequest: Math.round(perRequest),
        leaking: perRequest > LEAK_BYTES_PER_REQUEST,
      };
      log(`api: Jobman heap after GC, every ${MEMORY_EVERY} requests: ${samples.map((x) => mb(x.heapUsed)).join(' ')} MB (slope after warm-up ${memory.bytesPerRequest} B/request, limit ${LEAK_BYTES_PER_REQUEST}); RSS ${memory.startMb} -> ${memory.endMb} MB`);
    } else {
      memory = { startMb: mb(rssStart), endMb: null, afterGcMb: null, leaking: false };
    }
  } finally {
    await stopKeeper?.();
    jm.child.kill('SIGKILL');
    rmSync(home, { recursive: true, force: true });
  }
  return { counts, statuses, findings, memory, ms: performance.now() - t0 };
}


