import S3rver from 's3rver';

import { CountingProxy } from './counting-proxy.js';
import { makeTempDir, type TempDir } from './temp-dir.js';

/** s3rver's fixed account. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

/**
 * A real S3-protocol server (s3rver) on a free port with its own temp directory, behind a counting
 * TCP proxy; `endpoint` is the proxy's, so every byte a test's reads cost is counted.
 */
export class S3TestServer {
  private constructor(
    private readonly server: S3rver,
    private readonly dir: TempDir,
    readonly proxy: CountingProxy,
    readonly bucket: string,
  ) {}

  static async start(bucket = 'test-bucket'): Promise<S3TestServer> {
    const dir = await makeTempDir('s3rver');
    const server = new S3rver({
      address: '127.0.0.1',
      port: 0,
      silent: true,
      directory: dir.path,
      configureBuckets: [{ name: bucket }],
    });
    const { port } = await server.run();
    const proxy = await new CountingProxy(port).listen();
    return new S3TestServer(server, dir, proxy, bucket);
  }

  get endpoint(): string {
    return this.proxy.endpoint;
  }

  url(key: string): string {
    return `s3://${this.bucket}/${key}`;
  }

  async close(): Promise<void> {
    await this.proxy.close();
    await this.server.close();
    await this.dir.remove();
  }
}
