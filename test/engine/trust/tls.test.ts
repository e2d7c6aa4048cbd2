import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { runCli } from '../../helpers/cli.js';
import { startDaemon, TestCluster, type Daemon } from '../support/processes.js';

/**
 * TLS between every part, with a certificate made by openssl at test time: the Jobman serves HTTPS, a
 * Taskman and a client that are given the certificate's authority verify it and work; one that is not
 * given it refuses to talk. And no Jobman serves plain HTTP beyond loopback unless told --insecure.
 */
let dir: string;
let cert: string;
let key: string;
let cluster: TestCluster;
let taskman: Daemon;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'databox-tls-'));
  cert = join(dir, 'cert.pem');
  key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  cluster = await TestCluster.create();
  await cluster.startJobman(['--tls-cert', cert, '--tls-key', key]);
  taskman = startDaemon(['taskman', '--jobman', cluster.url, '--node', 'secure', '--workers', '1', '--home', cluster.home, '--ca', cert]);
  cluster.daemons.push(taskman);
  await taskman.waitForLog(/joined the Jobman/);
}, 60_000);
afterAll(async () => {
  await cluster?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('TLS', () => {
  it('serves HTTPS, and a Taskman and a client that trust its certificate run a job through it', async () => {
    expect(cluster.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const r = await runCli(['run', 'builtin:noop', '--count', '4', '--jobman', cluster.url, '--ca', cert], { env: { DATABOX_TOKEN: cluster.token }, timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^job 1 succeeded: 4 of 4 subtasks succeeded/m);
    const viaEnv = await runCli(['jobs', '--jobman', cluster.url], { env: { DATABOX_TOKEN: cluster.token, DATABOX_CA: cert } });
    expect(viaEnv.code).toBe(0);
  });

  it('refuses a Jobman whose certificate the client cannot verify', async () => {
    const r = await runCli(['jobs', '--jobman', cluster.url], { env: { DATABOX_TOKEN: cluster.token, DATABOX_CA: '' } });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/^databox: the Jobman at https:\/\/127\.0\.0\.1:\d+ presented a certificate this client does not trust \(DEPTH_ZERO_SELF_SIGNED_CERT: self[- ]signed certificate\); give the authority that signed it with --ca FILE or DATABOX_CA\n$/);
  });

  it('does not answer plain HTTP on its port', async () => {
    const plain = cluster.url.replace('https:', 'http:');
    const answer = await fetch(`${plain}/healthz`, { signal: AbortSignal.timeout(10_000) }).then(
      (res) => `HTTP ${res.status}`,
      (err: unknown) => `failed: ${(err as Error).message}`,
    );
    expect(answer).not.toBe('HTTP 200');
  });

  it('refuses to serve plain HTTP on a non-loopback address unless --insecure', async () => {
    const home = join(dir, 'open-home');
    const refused = await runCli(['jobman', '--host', '0.0.0.0', '--port', '0', '--home', home]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toBe(
      'databox: Refusing to serve plain HTTP on 0.0.0.0: tokens would cross the network in clear. Give --tls-cert and --tls-key, or --insecure if the network is yours alone\n',
    );
    const insecure = startDaemon(['jobman', '--host', '0.0.0.0', '--port', '0', '--home', home, '--insecure']);
    try {
      await insecure.waitForOut(/jobman listening on http:\/\//);
    } finally {
      insecure.child.kill('SIGTERM');
      await insecure.exited;
    }
    const half = await runCli(['jobman', '--port', '0', '--home', home, '--tls-cert', cert]);
    expect(half.stderr).toBe('databox: --tls-cert and --tls-key go together: give both, or neither\n');
  });
});
