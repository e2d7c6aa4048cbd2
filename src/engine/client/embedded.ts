import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { DataboxError } from '../../errors.js';
import { readToken } from '../home.js';
import { JobmanClient, type JobmanClientOptions } from './client.js';
import { Cluster } from './rs-udf.js';

/** How `connect` starts or reaches a cluster. */
export interface ConnectOptions extends Omit<JobmanClientOptions, 'url'> {
  /** Worker processes of an embedded cluster. @defaultValue the number of cores */
  workers?: number;
  /**
   * The embedded cluster's storage allow-lists (`databox up --allow-read/--allow-write`). @defaultValue
   * `databox up`'s: the current directory, ~/.databox and the OS temp directory
   */
  allowRead?: readonly string[];
  /** As `allowRead`, for writes. */
  allowWrite?: readonly string[];
}

/**
 * `connect()` starts an embedded cluster on this machine (a Jobman, a Taskman and its workers, as
 * `databox up` does, in child processes with a state directory of their own) and stops it on `close()`.
 * `connect(url, { token })` attaches to a running Jobman; the token also comes from `DATABOX_TOKEN` or
 * `~/.databox/token`, as for the CLI.
 */
export async function connect(url?: string, options: ConnectOptions = {}): Promise<Cluster> {
  if (url !== undefined) {
    const cluster = Cluster.of(await JobmanClient.open({ ...options, url }));
    await cluster.checkWorkers();
    return cluster;
  }
  const { workers, allowRead = [], allowWrite = [], ...clientOptions } = options;
  const home = await mkdtemp(join(tmpdir(), 'databox-embedded-'));
  const fromSource = import.meta.url.endsWith('.ts');
  const cli = fileURLToPath(new URL(fromSource ? '../../cli/main.ts' : '../../cli/main.js', import.meta.url));
  const args = [...(fromSource ? ['--import', 'tsx'] : []), cli, 'up', '--port', '0', '--home', home, ...(workers !== undefined ? ['--workers', String(workers)] : []), ...allowRead.flatMap((r) => ['--allow-read', r]), ...allowWrite.flatMap((r) => ['--allow-write', r])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  // A program that ends without close() must not leave the cluster running.
  const reap = (): void => void child.kill('SIGKILL');
  process.once('exit', reap);
  child.once('exit', () => process.removeListener('exit', reap));
  try {
    const jobmanUrl = await new Promise<string>((ok, fail) => {
      let text = '';
      const timer = setTimeout(() => fail(new DataboxError('ERR_EMBEDDED_START', `The embedded cluster did not start within 60 s:\n${text}`)), 60_000);
      const onData = (chunk: Buffer): void => {
        text += chunk.toString();
        const m = /jobman listening on (\S+)/.exec(text);
        if (m !== null) {
          clearTimeout(timer);
          ok(m[1]!);
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', (chunk: Buffer) => (text += chunk.toString()));
      child.once('exit', (code, sig) => {
        clearTimeout(timer);
        fail(new DataboxError('ERR_EMBEDDED_START', `The embedded cluster exited with ${sig ?? `code ${code}`} while starting:\n${text}`));
      });
    });
    // Keep the pipes drained; what the cluster says after start is of no use to the program.
    child.stdout!.resume();
    child.stderr!.resume();
    // Its own token, whatever DATABOX_TOKEN says: that one is for another cluster.
    const token = await readToken(home, {});
    const client = await JobmanClient.open({ ...clientOptions, url: jobmanUrl, token });
    return Cluster.of(client, { child, home });
  } catch (err) {
    child.kill('SIGKILL');
    await rm(home, { recursive: true, force: true });
    throw err;
  }
}
