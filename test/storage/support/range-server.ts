import { EventEmitter, once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';

/** What the server has done so far; tests compare snapshots of it. */
export interface RangeServerStats {
  /** Requests received (HEAD included). */
  requests: number;
  /** Body bytes written to clients. */
  bodyBytes: number;
  /** TCP connections accepted. */
  connections: number;
}

/**
 * A real `node:http` file server with Range support that tests can make misbehave: fail the next
 * requests with a status, stall them (never answer), ignore Range, or refuse a path.
 * Emits `request` (with the path) as each request arrives, so tests wait on events, not time.
 */
export class RangeServer extends EventEmitter {
  readonly stats: RangeServerStats = { requests: 0, bodyBytes: 0, connections: 0 };
  /** Answer Range requests with the whole file and 200, as some static servers do. */
  ignoreRange = false;
  /** Paths answered with a 302 to another path of this server. */
  readonly redirects = new Map<string, string>();
  /** Paths answered with a fixed status (403 and the like). */
  readonly statusFor = new Map<string, number>();
  private failures: { status: number; headers: Record<string, string> }[] = [];
  private stalls = 0;
  private readonly sockets = new Set<Socket>();
  private readonly server = createServer((req, res) => void this.handle(req, res));
  private origin = '';

  constructor(private readonly root: string) {
    super();
    this.server.on('connection', (socket: Socket) => {
      this.stats.connections++;
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  async listen(): Promise<this> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    const { port } = this.server.address() as AddressInfo;
    this.origin = `http://127.0.0.1:${port}`;
    return this;
  }

  url(name: string): string {
    return `${this.origin}/${name}`;
  }

  /** The next `count` requests get `status` (with `headers`), whatever they ask. */
  failNext(count: number, status: number, headers: Record<string, string> = {}): void {
    for (let i = 0; i < count; i++) this.failures.push({ status, headers });
  }

  /** The next `count` requests are never answered (until the client gives up or the server closes). */
  stallNext(count: number): void {
    this.stalls += count;
  }

  snapshot(): RangeServerStats {
    return { ...this.stats };
  }

  /** Resolves once no client connection is open (clients closed their idle keep-alive sockets). */
  async idle(): Promise<void> {
    await Promise.all([...this.sockets].map((s) => (s.closed ? undefined : once(s, 'close'))));
  }

  /** Destroys every open connection, which clients see as a reset. */
  dropConnections(): void {
    for (const socket of this.sockets) socket.destroy();
  }

  async close(): Promise<void> {
    this.dropConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.stats.requests++;
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname.slice(1));
    this.emit('request', path);
    if (this.stalls > 0) {
      this.stalls--;
      return;
    }
    const failure = this.failures.shift();
    if (failure !== undefined) {
      res.writeHead(failure.status, failure.headers).end();
      return;
    }
    const target = this.redirects.get(path);
    if (target !== undefined) {
      res.writeHead(302, { location: this.url(target) }).end();
      return;
    }
    const fixed = this.statusFor.get(path);
    if (fixed !== undefined) {
      res.writeHead(fixed).end();
      return;
    }
    let data: Buffer;
    try {
      data = await readFile(join(this.root, path));
    } catch {
      res.writeHead(404).end();
      return;
    }
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (range === null || this.ignoreRange) {
      this.send(req, res, 200, { 'content-length': String(data.length) }, data);
      return;
    }
    const start = Number(range[1]);
    const end = Math.min(range[2] === '' ? data.length - 1 : Number(range[2]), data.length - 1);
    if (start >= data.length) {
      res.writeHead(416, { 'content-range': `bytes */${data.length}` }).end();
      return;
    }
    const body = data.subarray(start, end + 1);
    this.send(req, res, 206, { 'content-length': String(body.length), 'content-range': `bytes ${start}-${end}/${data.length}` }, body);
  }

  private send(req: IncomingMessage, res: ServerResponse, status: number, headers: Record<string, string>, body: Buffer): void {
    res.writeHead(status, { 'accept-ranges': this.ignoreRange ? 'none' : 'bytes', ...headers });
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    this.stats.bodyBytes += body.length;
    res.end(body);
  }
}
