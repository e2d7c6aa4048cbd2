// npm run bench:engine: the scheduling engine against the four goals, with the peers (Dask
// distributed, BullMQ on Redis) timed on the same no-op workload in the same run.
//
//   throughput  no-op subtasks end to end through `databox up --workers 2`, submission to all results fetched
//   memory      the Jobman's RSS with 1,000,000 queued normal subtasks and no Taskman
//   failure     SIGKILL of a worker, then of a Taskman: time until their subtasks run again
//   priority    100,000 normal subtasks queued, every worker on 200 ms tasks: a 10-subtask priority job's time
//
// BENCH_COUNT (default 200000) sets the throughput workload, BENCH_RUNS (default 3) how many times it runs
// (the median is reported, with the range); BENCH_PEER_COUNT (default 20000) sets the peers' workload.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { haveBullmq, haveDask, haveRedis, runPeer } from './peers/find.mjs';
import { daemon, killAll, stop } from './support.mjs';

const COUNT = Number(process.env.BENCH_COUNT ?? 200_000);
const PEER_COUNT = Number(process.env.BENCH_PEER_COUNT ?? 20_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

function client(url, home) {
  const token = readFileSync(join(home, 'token'), 'utf8').trim();
  const api = async (path, init = {}) => {
    const res = await fetch(`${url}${path}`, {
      method: init.method ?? 'GET',
      headers: { authorization: `Bearer ${token}`, ...(init.body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: AbortSignal.timeout(120_000),
    });
    const body = await res.json();
    if (!res.ok) throw new Error(`${init.method ?? 'GET'} ${path}: ${res.status} ${JSON.stringify(body)}`);
    return body;
  };
  /** Resolves with the job once its event stream says it ended. */
  const wait = async (id) => {
    const res = await fetch(`${url}/v1/jobs/${id}/events`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(600_000) });
    const text = await res.text();
    const m = /event: end\ndata: (.*)\n/.exec(text);
    if (!m) throw new Error(`job ${id}: the event stream ended without an end event`);
    return JSON.parse(m[1]);
  };
  const results = async (id) => {
    let n = 0;
    for (let from = 0, pages = 0; from !== null && pages < 10_000; pages++) {
      const page = await api(`/v1/jobs/${id}/results?from=${from}&limit=10000`);
      n += page.results.length;
      from = page.next;
    }
    return n;
  };
  return { api, wait, results };
}

/** Polls `check` every 5 ms, for at most `timeoutMs`; resolves with the time it first held. */
async function when(check, timeoutMs, what) {
  const deadline = performance.now() + timeoutMs;
  for (let i = 0; i < 1_000_000; i++) {
    if (await check()) return performance.now();
    if (performance.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const rssMb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
const home = () => mkdtempSync(join(tmpdir(), 'databox-bench-'));
const rows = [];

async function throughput() {
  const dir = home();
  const up = await daemon(['up', '--home', dir, '--port', '0', '--workers', '2'], /jobman listening on \S+\n/);
  try {
    const c = client(up.url, dir);
    // A warm-up job, so both sides are measured warm (Dask's workers are warm after its start-up too).
    await c.wait((await c.api('/v1/jobs', { method: 'POST', body: { task: 'builtin:noop', count: 5000 } })).id);
    const rates = [];
    for (let run = 0; run < RUNS; run++) {
      const t0 = performance.now();
      const job = await c.api('/v1/jobs', { method: 'POST', body: { task: 'builtin:noop', count: COUNT } });
      const done = await c.wait(job.id);
      const fetched = await c.results(job.id);
      const seconds = (performance.now() - t0) / 1000;
      if (done.state !== 'succeeded' || fetched !== COUNT) throw new Error(`throughput job ended ${done.state} with ${fetched} results`);
      rates.push(COUNT / seconds);
    }
    rates.sort((x, y) => x - y);
    return { perSecond: rates[Math.floor(rates.length / 2)], min: rates[0], max: rates[rates.length - 1] };
  } finally {
    await stop(up);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function memory() {
  const dir = home();
  const jm = await daemon(['jobman', '--home', dir, '--port', '0'], /jobman listening on \S+\n/);
  try {
    const c = client(jm.url, dir);
    const idle = rssMb(jm.child.pid);
    const t0 = performance.now();
    const job = await c.api('/v1/jobs', { method: 'POST', body: { task: 'builtin:noop', count: 1_000_000 } });
    const submitS = (performance.now() - t0) / 1000;
    if (job.counts.queued !== 1_000_000) throw new Error(`expected 1,000,000 queued, got ${job.counts.queued}`);
    // Let the Jobman settle (page its window, collect garbage); then read its resident set.
    await new Promise((r) => setTimeout(r, 2000));
    return { idleMb: idle, queuedMb: rssMb(jm.child.pid), submitS };
  } finally {
    await stop(jm);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function failure() {
  const dir = home();
  const jm = await daemon(['jobman', '--home', dir, '--port', '0'], /jobman listening on \S+\n/);
  const token = readFileSync(join(dir, 'token'), 'utf8').trim();
  const a = await daemon(['taskman', '--jobman', jm.url, '--node', 'a', '--workers', '2'], /joined the Jobman/, { DATABOX_TOKEN: token });
  const b = await daemon(['taskman', '--jobman', jm.url, '--node', 'b', '--workers', '2'], /joined the Jobman/, { DATABOX_TOKEN: token });
  try {
    const c = client(jm.url, dir);
    const rowsOf = async (id) => (await c.api(`/v1/jobs/${id}/results?limit=10000`)).results;
    // Two long subtasks that prefer `onNode`: they run there, while the other node's workers stay idle,
    // ready to take over (a preferred node that is dead no longer holds its work back).
    const measureKill = async (kill, onNode) => {
      const job = await c.api('/v1/jobs', { method: 'POST', body: { task: 'builtin:sleep', args: 30_000, count: 2, preferNodes: [onNode] } });
      await when(async () => (await rowsOf(job.id)).filter((r) => r.state === 'running' && r.node === onNode).length === 2, 10_000, `both workers of ${onNode} busy`);
      const victims = (await rowsOf(job.id)).filter((r) => r.state === 'running' && r.node === onNode);
      const mode = await kill();
      const t0 = performance.now();
      // A killed worker held one of the node's running subtasks (which, the API does not say); a killed
      // Taskman held all of them.
      const again = (now, v) => now[v.index].attempt > v.attempt && now[v.index].state === 'running';
      const t1 = await when(
        async () => {
          const now = await rowsOf(job.id);
          return mode === 'all' ? victims.every((v) => again(now, v)) : victims.some((v) => again(now, v));
        },
        20_000,
        'the lost subtasks to run again',
      );
      await c.api(`/v1/jobs/${job.id}`, { method: 'DELETE' });
      return (t1 - t0) / 1000;
    };
    // A worker of b (both are busy): its subtask fails over to the head of the deque and runs again.
    const workerS = await measureKill(async () => {
      process.kill((await c.api('/v1/nodes')).nodes.find((n) => n.name === 'b').workers[0].pid, 'SIGKILL');
      return 'one';
    }, 'b');
    // Taskman a: its subtasks wait for three missed heartbeats, then run on b.
    const taskmanS = await measureKill(async () => {
      a.child.kill('SIGKILL');
      return 'all';
    }, 'a');
    return { workerS, taskmanS };
  } finally {
    for (const d of [a, b, jm]) await stop(d);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function priority() {
  const dir = home();
  const up = await daemon(['up', '--home', dir, '--port', '0', '--workers', '2'], /jobman listening on \S+\n/);
  try {
    const c = client(up.url, dir);
    const normal = await c.api('/v1/jobs', { method: 'POST', body: { task: 'builtin:sleep', args: 200, count: 100_000 } });
    await when(async () => (await c.api(`/v1/jobs/${normal.id}`)).counts.running >= 2, 10_000, 'both workers busy');
    const t0 = performance.now();
    const job = await c.api('/v1/jobs', { method: 'POST', body: { task: 'builtin:noop', count: 10, priority: true } });
    const done = await c.wait(job.id);
    const seconds = (performance.now() - t0) / 1000;
    if (done.state !== 'succeeded') throw new Error(`priority job ended ${done.state}`);
    await c.api(`/v1/jobs/${normal.id}`, { method: 'DELETE' });
    return { seconds };
  } finally {
    await stop(up);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function peers() {
  const out = {};
  if (await haveDask()) out.dask = await runPeer('dask', PEER_COUNT);
  else console.log('  (Dask skipped: install Debian python3-distributed)');
  if ((await haveRedis()) && (await haveBullmq())) out.bullmq = await runPeer('bullmq', PEER_COUNT);
  else console.log('  (BullMQ skipped: needs Debian redis-server and the bullmq devDependency)');
  return out;
}

try {
  console.log(`engine benchmark: ${COUNT} no-op subtasks through databox up --workers 2, ${RUNS} runs; peers on ${PEER_COUNT}`);
  const t = await throughput();
  const p = await peers();
  rows.push([`throughput, no-op subtasks/s, submission to all results fetched (median of ${RUNS}; range)`, `${t.perSecond.toFixed(0)} (${t.min.toFixed(0)}–${t.max.toFixed(0)})`, '≥ 25000', t.perSecond >= 25_000]);
  for (const [name, r] of Object.entries(p)) rows.push([`  ${name}: subtasks/s on ${r.count}; databox / ${name}`, `${r.perSecond.toFixed(0)}; ${(t.perSecond / r.perSecond).toFixed(1)}×`, '', undefined]);
  const m = await memory();
  rows.push(['Jobman RSS, 1,000,000 queued normal subtasks, no Taskman (MB)', m.queuedMb.toFixed(0), '≤ 250', m.queuedMb <= 250]);
  rows.push(['  Jobman RSS idle (MB); time to submit the 1M job (s)', `${m.idleMb.toFixed(0)}; ${m.submitS.toFixed(2)}`, '', undefined]);
  const f = await failure();
  rows.push(['SIGKILL of a worker → its subtask running again (s)', f.workerS.toFixed(2), '≤ 3.5', f.workerS <= 3.5]);
  rows.push(['SIGKILL of a Taskman → its subtasks running again (s)', f.taskmanS.toFixed(2), '≤ 3.5', f.taskmanS <= 3.5]);
  const q = await priority();
  rows.push(['priority job of 10 no-ops behind 100,000 queued 200 ms tasks (s)', q.seconds.toFixed(2), '≤ 1', q.seconds <= 1]);
  console.log('');
  console.log('| measure | databox | goal | met |');
  console.log('|---|---|---|---|');
  for (const [name, value, goal, met] of rows) console.log(`| ${name} | ${value} | ${goal} | ${met === undefined ? '' : met ? 'yes' : 'no'} |`);
} finally {
  killAll();
}
