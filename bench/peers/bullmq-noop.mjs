// BullMQ peer for bench/engine.mjs: N no-op jobs through a private redis-server and 2 worker processes
// (concurrency 1 each, like 2 single-thread workers). Prints {"peer":"bullmq","count":N,"seconds":S,
// "perSecond":R}; S runs from the first addBulk to the last job completed, so start-up is not counted.
//
//   node bench/peers/bullmq-noop.mjs --count 5000 --json
//
// The same file is the worker: the parent forks it with --worker --port P --queue Q.
import { fork, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { clearTimeout, setTimeout } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue, Worker } from 'bullmq';

const WORKERS = 2;
const CHUNK = 1000; // jobs per addBulk call
const POLL_MS = 10; // how often the parent asks Redis how many jobs completed
const START_TIMEOUT_MS = 15_000; // for redis-server and each worker to come up
const STOP_TIMEOUT_MS = 10_000; // for each process to exit before it is killed

const { values: args } = parseArgs({
  options: {
    count: { type: 'string', default: '5000' },
    json: { type: 'boolean', default: false },
    'timeout-ms': { type: 'string', default: '600000' }, // bound on the timed part
    worker: { type: 'boolean', default: false },
    port: { type: 'string' },
    queue: { type: 'string' },
  },
});

const connectionTo = (port) => ({ host: '127.0.0.1', port, maxRetriesPerRequest: null });

/** Rejects with `what` in the message when `promise` takes longer than `ms`. */
async function within(ms, what, promise) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------- worker process

async function runWorker(port, queueName) {
  let count = 0;
  let sum = 0;
  const worker = new Worker(queueName, async (job) => job.data.i, { connection: connectionTo(port), concurrency: 1 });
  worker.on('completed', (_job, result) => {
    count++;
    sum += result;
  });
  worker.on('error', (err) => console.error(`bullmq worker ${process.pid}: ${err.message}`));
  // However the parent goes, do not outlive it; close() waits for the job in hand, bounded.
  const stop = async () => {
    setTimeout(() => process.exit(1), STOP_TIMEOUT_MS).unref();
    await worker.close();
  };
  process.on('message', async (message) => {
    if (message !== 'stop') return;
    await stop();
    process.send({ count, sum }, () => process.exit(0));
  });
  process.on('disconnect', () => stop().then(() => process.exit(0)));
  process.on('SIGTERM', () => stop().then(() => process.exit(143)));
  await worker.waitUntilReady();
  process.send('ready');
}

// ---------------------------------------------------------------- parent process

/** A port that was free a moment ago; startRedis retries if another process takes it first. */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Waits for `child` to exit; SIGTERM (unless `signalled`), then SIGKILL after STOP_TIMEOUT_MS. */
async function reap(child, signalled = false) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  if (!signalled) child.kill('SIGTERM');
  try {
    await within(STOP_TIMEOUT_MS, `process ${child.pid} exit`, exited);
  } catch {
    child.kill('SIGKILL');
    await exited;
  }
}

/** Starts redis-server without persistence; resolves once it accepts connections. */
async function startRedis(dir) {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const redis = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    // Keep draining its log for the whole run: a full pipe would stall Redis.
    let log = '';
    const ready = new Promise((resolve, reject) => {
      const onData = (chunk) => {
        log = (log + chunk).slice(-4000);
        if (log.includes('Ready to accept connections')) resolve();
      };
      redis.stdout.on('data', onData);
      redis.stderr.on('data', onData);
      redis.once('error', (err) =>
        reject(err.code === 'ENOENT' ? new Error('redis-server is not on PATH (Debian: apt-get install redis-server)') : err),
      );
      redis.once('exit', (code) => reject(new Error(`redis-server exited with ${code} before it was ready:\n${log}`)));
    });
    try {
      await within(START_TIMEOUT_MS, 'redis-server start', ready);
      return { redis, port };
    } catch (err) {
      await reap(redis);
      if (attempt < 3 && /Address already in use/.test(log)) continue;
      throw err;
    }
  }
}

/** Forks one worker process and resolves once its Worker is connected. */
async function startWorker(port, queueName) {
  const script = fileURLToPath(import.meta.url);
  // Worker stdout goes to our stderr so only the result line reaches our stdout.
  const child = fork(script, ['--worker', '--port', String(port), '--queue', queueName], {
    stdio: ['ignore', 2, 2, 'ipc'],
  });
  const ready = new Promise((resolve, reject) => {
    child.once('message', (m) => (m === 'ready' ? resolve() : reject(new Error(`worker said ${m}`))));
    child.once('exit', (code) => reject(new Error(`bullmq worker exited with ${code} before it was ready`)));
  });
  try {
    await within(START_TIMEOUT_MS, 'bullmq worker start', ready);
  } catch (err) {
    await reap(child);
    throw err;
  }
  return child;
}

/** Asks a worker to close and resolves with how many jobs it completed and the sum of their results. */
async function stopWorker(child) {
  const tally = new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`bullmq worker exited with ${code} before reporting`)));
  });
  child.send('stop');
  try {
    return await within(STOP_TIMEOUT_MS, 'bullmq worker stop', tally);
  } finally {
    await reap(child, true);
  }
}

/** Polls Redis until `count` jobs have completed; throws on a failed job or at `deadline`. */
async function waitForCompleted(queue, count, deadline) {
  while (performance.now() < deadline) {
    const { completed, failed } = await queue.getJobCounts('completed', 'failed');
    if (failed > 0) throw new Error(`${failed} bullmq jobs failed`);
    if (completed >= count) return;
    await sleep(POLL_MS);
  }
  throw new Error(`bullmq did not complete ${count} jobs within --timeout-ms ${args['timeout-ms']}`);
}

async function main() {
  const count = Number(args.count);
  const timeoutMs = Number(args['timeout-ms']);
  if (!Number.isInteger(count) || count < 1) throw new Error(`--count must be a positive integer, got ${args.count}`);
  if (!(timeoutMs > 0)) throw new Error(`--timeout-ms must be a positive number, got ${args['timeout-ms']}`);

  const dir = mkdtempSync(join(tmpdir(), 'bullmq-peer-'));
  let redis;
  let queue;
  const workers = [];
  // Undoes whatever has started, in reverse order; safe to call twice and after a partial start.
  const cleanup = async () => {
    await Promise.all(workers.splice(0).map((w) => reap(w)));
    await queue?.close().catch(() => {});
    queue = undefined;
    if (redis) await reap(redis);
    rmSync(dir, { recursive: true, force: true });
  };
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.once(signal, () => cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143)));
  }

  try {
    const started = await startRedis(dir);
    redis = started.redis;
    const queueName = `noop-${process.pid}`;
    queue = new Queue(queueName, { connection: connectionTo(started.port) });
    await within(START_TIMEOUT_MS, 'bullmq queue connect', queue.waitUntilReady());
    for (let i = 0; i < WORKERS; i++) workers.push(await startWorker(started.port, queueName));

    const start = performance.now();
    for (let first = 0; first < count; first += CHUNK) {
      const jobs = [];
      for (let i = first; i < Math.min(first + CHUNK, count); i++) jobs.push({ name: 'noop', data: { i } });
      await queue.addBulk(jobs);
    }
    await waitForCompleted(queue, count, start + timeoutMs);
    const seconds = (performance.now() - start) / 1000;

    // Every job ran once and returned its own index: the counts and the results add up.
    const tallies = await Promise.all(workers.splice(0).map(stopWorker));
    const done = tallies.reduce((n, t) => n + t.count, 0);
    const sum = tallies.reduce((n, t) => n + t.sum, 0);
    if (done !== count || sum !== (count * (count - 1)) / 2) {
      throw new Error(`bullmq workers completed ${done} jobs summing to ${sum}; expected ${count} jobs 0..${count - 1}`);
    }

    const out = { peer: 'bullmq', count, seconds, perSecond: count / seconds };
    if (args.json) console.log(JSON.stringify(out));
    else console.log(`bullmq: ${count} no-op jobs in ${seconds.toFixed(3)} s, ${out.perSecond.toFixed(0)} per second`);
  } finally {
    await cleanup();
  }
}

if (args.worker) {
  runWorker(Number(args.port), args.queue).catch((err) => {
    console.error(`bullmq worker ${process.pid}: ${err.stack ?? err}`);
    process.exit(1);
  });
} else {
  main().catch((err) => {
    console.error(`bullmq peer: ${err.message}`);
    process.exitCode = 1;
  });
}
