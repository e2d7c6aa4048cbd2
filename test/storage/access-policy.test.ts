import dns from 'node:dns';
import { once } from 'node:events';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import {
  AccessPolicy,
  checkWritable,
  closeSharedConnections,
  InvalidAccessRuleError,
  list,
  openSink,
  openSource,
  readAll,
  removeObject,
  setAccessPolicy,
  writeAll,
} from '../../src/storage/index.js';
import { makeTempDir, type TempDir } from './support/temp-dir.js';

const policy = (read: string[], write: string[] = []): AccessPolicy => new AccessPolicy({ read, write });

/** The code an awaited call fails with (undefined when it succeeds). */
async function codeOf(run: () => Promise<unknown> | unknown): Promise<string | undefined> {
  try {
    await run();
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

describe('storage rules', () => {
  it('accepts absolute paths, file: URLs, s3:// and http(s):// prefixes, and * for everything', () => {
    expect(() => policy(['/data', 'file:///srv/x', 's3://bucket', 's3://bucket/pre/fix', 'https://example.com', 'http://host:8080/a/b/', '*'])).not.toThrow();
  });

  it.each([
    ['', 'it is empty'],
    ['data', 'a path must be absolute'],
    ['./data', 'a path must be absolute'],
    ['/data/*.tif', 'rules are prefixes, not globs'],
    ['ftp://host/x', 'the scheme "ftp:" is not one storage reads or writes'],
    ['s3://', 'is not an S3 bucket name'],
    ['s3:bucket', 'an S3 rule is s3://bucket[/prefix]'],
    ['s3://bucket/a/../b', 'may not hold . or .. segments'],
    ['https://user:pw@host/', 'no user name or password'],
    ['https://host/x?y=1', 'without ?query'],
    ['http://', 'does not parse'],
  ])('refuses the rule %j, saying why', (rule, why) => {
    let error: unknown;
    try {
      policy([rule]);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InvalidAccessRuleError);
    expect((error as Error).message).toContain(why);
    expect((error as Error).message).toContain(JSON.stringify(rule));
  });
});

describe('storage rules match whole segments', () => {
  it('/data allows /data and what is under it, never /data2 or a climb out with ..', () => {
    const p = policy(['/data']);
    expect(p.refusal('/data', 'read')).toBeUndefined();
    expect(p.refusal('/data/x/y.tif', 'read')).toBeUndefined();
    expect(p.refusal('file:///data/y.tif', 'read')).toBeUndefined();
    expect(p.refusal('/data2/y.tif', 'read')).toContain('Storage access denied: cannot read /data2/y.tif');
    expect(p.refusal('/data/../etc/passwd', 'read')).toContain('the --allow-read rules are /data');
    expect(p.refusal('/data/x.tif', 'write')).toContain('there are no --allow-write rules; the operator allows it with --allow-write /data');
  });

  it('s3://bucket/pre allows keys under pre/, not pre2/, another bucket, or a key with .. in it', () => {
    const p = policy(['s3://bucket/pre']);
    expect(p.refusal('s3://bucket/pre/a.tif', 'read')).toBeUndefined();
    expect(p.refusal('s3://bucket/pre2/a.tif', 'read')).toContain('--allow-read s3://bucket/pre2');
    expect(p.refusal('s3://other/pre/a.tif', 'read')).toBeDefined();
    expect(p.refusal('s3://bucket/pre/../secret', 'read')).toBeDefined();
    expect(policy(['s3://bucket']).refusal('s3://bucket/any/key', 'read')).toBeUndefined();
  });

  it('https://host/pre allows that scheme, host, port and path prefix only', () => {
    const p = policy(['https://example.com/pre']);
    expect(p.refusal('https://example.com/pre/a.tif?sig=1', 'read')).toBeUndefined();
    expect(p.refusal('https://EXAMPLE.com/pre/a.tif', 'read')).toBeUndefined();
    expect(p.refusal('https://example.com/pre2/a.tif', 'read')).toBeDefined();
    expect(p.refusal('https://example.com/pre/../a.tif', 'read')).toBeDefined();
    expect(p.refusal('http://example.com/pre/a.tif', 'read')).toBeDefined();
    expect(p.refusal('https://example.com:8443/pre/a.tif', 'read')).toBeDefined();
    expect(p.refusal('https://example.com.evil.org/pre/a.tif', 'read')).toBeDefined();
  });

  it('* allows everything but link-local and metadata hosts, which only a rule naming them allows', () => {
    const all = policy(['*']);
    expect(all.refusal('/etc/passwd', 'read')).toBeUndefined();
    expect(all.refusal('s3://b/k', 'read')).toBeUndefined();
    expect(all.refusal('https://example.com/x', 'read')).toBeUndefined();
    for (const url of ['http://169.254.169.254/latest/meta-data/iam', 'http://169.254.1.7/x', 'http://[fe80::1]/x', 'http://[::ffff:169.254.169.254]/x', 'http://metadata.google.internal/x', 'http://100.100.100.200/x', 'http://[fd00:ec2::254]/x', 'http://2852039166/x']) {
      expect(all.refusal(url, 'read'), url).toMatch(/is (a link-local address|a cloud metadata service), refused unless a rule names that host/);
    }
    expect(policy(['http://169.254.169.254/']).refusal('http://169.254.169.254/latest/meta-data/iam', 'read')).toBeUndefined();
  });

  it('denied paths are refused for reads and writes whatever the rules allow, * included', () => {
    const guarded = new AccessPolicy({ read: ['*'], write: ['/home/op/.databox'], deny: ['/home/op/.databox/token', '/home/op/.databox/databox.db-wal'] }, false);
    expect(guarded.refusal('/home/op/.databox/token', 'read')).toBe('Storage access denied: cannot read /home/op/.databox/token: the Jobman keeps its credentials and job store there, which no task may read');
    expect(guarded.refusal('/home/op/.databox/databox.db-wal', 'write')).toMatch(/which no task may write$/);
    expect(guarded.refusal('/home/op/.databox/token2', 'read')).toBeUndefined();
    expect(guarded.refusal('/home/op/.databox/cache/x.tif', 'write')).toBeUndefined();
    expect(() => new AccessPolicy({ read: [], write: [], deny: ['token'] })).toThrow(InvalidAccessRuleError);
  });
});

describe('symlinks are resolved before the check', () => {
  let dir: TempDir;
  beforeAll(async () => {
    dir = await makeTempDir('access');
    await mkdir(join(dir.path, 'allowed'));
    await mkdir(join(dir.path, 'outside'));
    await writeFile(join(dir.path, 'outside', 'secret.txt'), 'secret');
    await writeFile(join(dir.path, 'allowed', 'ok.txt'), 'ok');
    await symlink(join(dir.path, 'outside'), join(dir.path, 'allowed', 'link'));
    await symlink(join(dir.path, 'outside', 'secret.txt'), join(dir.path, 'allowed', 'secret.txt'));
  });
  afterAll(() => dir.remove());
  afterEach(() => setAccessPolicy(undefined));

  it('a link inside an allowed folder that points outside it is refused, for reads and for writes not yet made', async () => {
    const allowed = join(dir.path, 'allowed');
    setAccessPolicy(policy([allowed], [allowed]));
    expect(new TextDecoder().decode(await readAll(join(allowed, 'ok.txt')))).toBe('ok');
    expect(await codeOf(() => readAll(join(allowed, 'secret.txt')))).toBe('ERR_STORAGE_DENIED');
    expect(await codeOf(() => openSource(join(allowed, 'link', 'secret.txt')))).toBe('ERR_STORAGE_DENIED');
    expect(await codeOf(() => writeAll(join(allowed, 'link', 'new', 'x.txt'), new Uint8Array(1)))).toBe('ERR_STORAGE_DENIED');
    expect(await codeOf(() => list(join(allowed, '*.txt')))).toBe('ERR_STORAGE_DENIED');
    await writeAll(join(allowed, 'new', 'x.txt'), new Uint8Array(1));
  });

  it('every entry point checks: open, sink, list, remove, checkWritable; with no policy everything passes', async () => {
    const outside = join(dir.path, 'outside', 'secret.txt');
    setAccessPolicy(policy([join(dir.path, 'allowed')], [join(dir.path, 'allowed')]));
    expect(await codeOf(() => openSource(outside))).toBe('ERR_STORAGE_DENIED');
    expect(await codeOf(() => openSink(outside))).toBe('ERR_STORAGE_DENIED');
    expect(await codeOf(() => list(outside))).toBe('ERR_STORAGE_DENIED');
    expect(await codeOf(() => removeObject(outside))).toBe('ERR_STORAGE_DENIED');
    expect(await codeOf(() => checkWritable(outside))).toBe('ERR_STORAGE_DENIED');
    expect(await codeOf(() => openSink('/etc/databox-probe'))).toBe('ERR_STORAGE_DENIED');
    const sink = await openSink(join(dir.path, 'outside', 'engine-file'), { trusted: true });
    await sink.abort();
    setAccessPolicy(undefined);
    expect(new TextDecoder().decode(await readAll(outside))).toBe('secret');
  });
});

describe('HTTP reads under a policy', () => {
  let server: Server;
  let port: number;
  const paths: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      paths.push(req.url ?? '');
      if (req.url === '/redirect') {
        res.writeHead(302, { location: `http://127.0.0.1:${port}/private/x` }).end();
        return;
      }
      res.writeHead(200, { 'content-length': '2' }).end('ok');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    setAccessPolicy(undefined);
    await closeSharedConnections();
    server.close();
  });
  afterEach(async () => {
    setAccessPolicy(undefined);
    vi.restoreAllMocks();
    paths.length = 0;
    await closeSharedConnections();
  });

  it('a loopback server whose URL no rule allows gets no request', async () => {
    setAccessPolicy(policy([`http://127.0.0.1:${port}/public`]));
    expect(await codeOf(() => readAll(`http://127.0.0.1:${port}/latest/meta-data/iam`))).toBe('ERR_STORAGE_DENIED');
    expect(paths).toEqual([]);
    expect(new TextDecoder().decode(await readAll(`http://127.0.0.1:${port}/public/a`))).toBe('ok');
    expect(paths.length).toBeGreaterThan(0);
  });

  it('a redirect to a URL no rule allows is refused before it is followed', async () => {
    setAccessPolicy(policy([`http://127.0.0.1:${port}/redirect`]));
    expect(await codeOf(() => readAll(`http://127.0.0.1:${port}/redirect`))).toBe('ERR_STORAGE_DENIED');
    expect(paths.every((p) => p === '/redirect')).toBe(true);
  });

  it('a host name that resolves to a link-local address is refused at connect, even under *', async () => {
    // The resolver answers for a made-up name as a rebinding DNS server would.
    const real = dns.lookup;
    vi.spyOn(dns, 'lookup').mockImplementation(((host: string, options: dns.LookupOptions, cb: (...a: unknown[]) => void) => {
      if (host === 'rebind.test') return cb(null, [{ address: '169.254.169.254', family: 4 }]);
      if (host === 'loop.test') return cb(null, [{ address: '127.0.0.1', family: 4 }]);
      return (real as (...a: unknown[]) => void)(host, options, cb);
    }) as typeof dns.lookup);
    setAccessPolicy(policy(['*']));
    const refused = await readAll(`http://rebind.test:${port}/latest/meta-data/iam`).catch((err: unknown) => err as Error & { code: string });
    expect((refused as { code: string }).code).toBe('ERR_STORAGE_DENIED');
    expect((refused as Error).message).toContain('rebind.test resolves to 169.254.169.254, a cloud metadata service');
    // The same hook lets an ordinary address through.
    expect(new TextDecoder().decode(await readAll(`http://loop.test:${port}/a`))).toBe('ok');
  });

  it('an S3 endpoint on a metadata address, or whose name resolves to one, is refused unless a rule names it', async () => {
    const s3 = { endpoint: 'http://169.254.169.254:9000', region: 'us-east-1', credentials: { accessKeyId: 'k', secretAccessKey: 's' } };
    setAccessPolicy(policy(['*']));
    const direct = await readAll('s3://bucket/key', { s3, retry: { maxAttempts: 1 } }).catch((err: unknown) => err as Error & { code: string });
    expect((direct as { code: string }).code).toBe('ERR_STORAGE_DENIED');
    expect((direct as Error).message).toContain('S3 endpoint http://169.254.169.254:9000: Storage access denied: 169.254.169.254 is a cloud metadata service');
    vi.spyOn(dns, 'lookup').mockImplementation(((_host: string, _options: dns.LookupOptions, cb: (...a: unknown[]) => void) => cb(null, [{ address: '169.254.10.1', family: 4 }])) as typeof dns.lookup);
    const rebound = await readAll('s3://bucket/key', { s3: { ...s3, endpoint: `http://s3-rebind.test:${port}` }, retry: { maxAttempts: 1 } }).catch((err: unknown) => err as Error & { code: string });
    expect((rebound as { code: string }).code).toBe('ERR_STORAGE_DENIED');
    expect((rebound as Error).message).toContain('s3-rebind.test resolves to 169.254.10.1, a link-local address');
    expect(paths).toEqual([]);
  });

  it('a name the system resolver answers for connects through the same hook', async () => {
    setAccessPolicy(policy([`http://localhost:${port}/`]));
    expect(new TextDecoder().decode(await readAll(`http://localhost:${port}/a`))).toBe('ok');
  });
});
