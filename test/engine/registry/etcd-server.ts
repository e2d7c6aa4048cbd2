/**
 * Test harness: a real, throw-away etcd (Debian `etcd-server`) on free loopback ports, with its own
 * data directory. Started per test file (or per test, for tests that kill it), always reaped.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where Debian's `etcd-server` package puts the binary. */
export const ETCD_BINARY = '/usr/bin/etcd';

/** Why the etcd tests skip, or `undefined` when etcd is here to run them. */
export const etcdSkipReason: string | undefined = existsSync(ETCD_BINARY)
  ? undefined
  : `${ETCD_BINARY} is missing: install Debian's etcd-server package to run the etcd registry tests`;

export interface EtcdServer {
  /** The registry URL, `etcd://127.0.0.1:PORT`. */
  readonly url: string;
  /** The client endpoint, `http://127.0.0.1:PORT`. */
  readonly clientUrl: string;
  /** SIGKILLs etcd and resolves once it has exited (the data directory stays until `stop`). */
  kill(): Promise<void>;
  /** Kills etcd if still running and removes its data directory. Safe to call twice. */
  stop(): Promise<void>;
}

/** A port nothing listens on right now (the kernel picks it; we close at once and hand it over). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts etcd and resolves once `/health` says it can serve. The election timings are shortened so
 * that etcd's minimum lease TTL (1.5 × election timeout, rounded up) is 1 s, as the TTL tests need.
 */
export async function startEtcd(): Promise<EtcdServer> {
  const dataDir = await mkdtemp(join(tmpdir(), 'databox-etcd-'));
  const clientPort = await freePort();
  const peerPort = await freePort();
  const clientUrl = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const child = spawn(
    ETCD_BINARY,
    [
      '--name', 'default',
      '--data-dir', dataDir,
      '--listen-client-urls', clientUrl,
      '--advertise-client-urls', clientUrl,
      '--listen-peer-urls', peerUrl,
      '--initial-advertise-peer-urls', peerUrl,
      '--initial-cluster', `default=${peerUrl}`,
      '--heartbeat-interval', '50',
      '--election-timeout', '500',
      '--logger', 'zap',
      '--log-outputs', 'stderr',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    log = (log + chunk).slice(-8_000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  let stopped = false;
  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  const server: EtcdServer = {
    url: `etcd://127.0.0.1:${clientPort}`,
    clientUrl,
    kill,
    async stop() {
      if (stopped) return;
      stopped = true;
      await kill();
      await rm(dataDir, { recursive: true, force: true });
    },
  };

  try {
    await waitUntilServing(child, clientUrl, () => log);
    await waitUntilHealthy(clientUrl);
  } catch (err) {
    await server.stop();
    throw new Error(`etcd did not start on ${clientUrl}: ${(err as Error).message}\n--- etcd log tail ---\n${log.slice(-2_000)}`);
  }
  return server;
}

/** Waits for etcd's own "serving client traffic" log line, or fails when it exits first. */
function waitUntilServing(child: ChildProcess, clientUrl: string, log: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onData = (): void => {
      if (log().includes('serving client traffic') || log().includes('ready to serve client requests')) done(undefined);
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void =>
      done(new Error(`etcd exited (code ${code}, signal ${signal}) before serving ${clientUrl}`));
    const onError = (err: Error): void => done(err);
    const timer = setTimeout(() => done(new Error(`no "serving client traffic" line within 20 s`)), 20_000);
    function done(err: Error | undefined): void {
      clearTimeout(timer);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
      if (err) reject(err);
      else resolve();
    }
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
    onData();
  });
}

/** Polls `/health` until it answers `{"health":"true"}` (a leader is elected); bounded attempts. */
async function waitUntilHealthy(clientUrl: string, attempts = 40): Promise<void> {
  let last = 'no answer';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const res = await fetch(`${clientUrl}/health`, { signal: AbortSignal.timeout(2_000) });
      const body = await res.text();
      if (res.ok && body.includes('"health":"true"')) return;
      last = `HTTP ${res.status} ${body.trim()}`;
    } catch (err) {
      last = (err as Error).message;
    }
    // Only after a failed answer: back off a little so a booting etcd is not hammered.
    await new Promise((resolve) => setTimeout(resolve, 25 * attempt));
  }
  throw new Error(`/health still not healthy after ${attempts} attempts (last: ${last})`);
}
