import { randomUUID, timingSafeEqual } from 'node:crypto';
import { open, rename, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

import fastifySwagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';

import { DataboxError, messageOf } from '../../errors.js';
import { DROPPED_CODE } from '../api/schemas.js';
import { ensureToken, resolveHome, tokenPath } from '../home.js';
import { openRegistry, type Registration, type Registry } from '../registry/index.js';
import { openStore, type JobStore } from '../store/index.js';
import { JobEvents } from './events.js';
import { registerMetrics } from './metrics.js';
import { NodeTable } from './nodes.js';
import { registerRoutes } from './routes.js';
import { UdfBundles } from './udfs.js';
import { Scheduler } from './scheduler.js';
import { TaskRegistry, type TaskPackage } from '../tasks/registry.js';

export const VERSION = '0.1.0';

/** How a Jobman runs; `databox jobman` maps its flags onto these. */
export interface JobmanOptions {
  /** State and token directory. @defaultValue `~/.databox` */
  home?: string;
  /** @defaultValue 127.0.0.1 */
  host?: string;
  /** 0 picks a free port. @defaultValue 7070 */
  port?: number;
  /** The SQLite file. @defaultValue `HOME/databox.db` */
  db?: string;
  /** `embedded` or `etcd://H:P[,H:P]`. @defaultValue embedded */
  registry?: string;
  /** How often Taskmen (and their workers) say they are alive. @defaultValue 1000 */
  heartbeatMs?: number;
  /** Heartbeats a Taskman may miss before it is declared dead. @defaultValue 3 */
  missedHeartbeats?: number;
  /** Normal subtasks held in memory at most. @defaultValue 10000 */
  windowSize?: number;
  /** @defaultValue 3000 */
  localityWaitMs?: number;
  /** Log node events and failures (pino JSON lines, to stderr). @defaultValue false */
  log?: boolean;
  /** Task packages jobs may name, beyond the diagnostic built-ins (see tasks/registry.ts). @defaultValue none */
  taskPackages?: readonly TaskPackage[];
  /**
   * Start a new, empty job store even though the home was used before and its database is missing,
   * empty (0 bytes) or unreadable (`--init`); an unreadable file is kept, renamed aside. Without it such
   * a home is refused, since an empty store would silently forget every job. @defaultValue false
   */
  init?: boolean;
  /**
   * How long a job pinned to a node waits while that node is gone before it fails with ERR_NODE_GONE
   * (unless submitted with `waitForNode`). @defaultValue 60000
   */
  pinnedNodeGraceMs?: number;
  /** How long a dead node stays listed in /v1/nodes before it is forgotten. @defaultValue 600000 (10 min) */
  forgetDeadNodesAfterMs?: number;
}

export interface Jobman {
  /** `http://HOST:PORT`. */
  readonly url: string;
  readonly token: string;
  readonly home: string;
  readonly scheduler: Scheduler;
  readonly store: JobStore;
  readonly nodes: NodeTable;
  /** Stops listening, ends held requests and event streams, and closes the store and registry. */
  close(): Promise<void>;
}

/**
 * Starts a Jobman: opens (and recovers) the job store, registers in the registry, and serves the HTTP
 * API. Taskmen join and heartbeat over the same API; the Jobman never talks to a worker.
 */
export async function startJobman(options: JobmanOptions = {}): Promise<Jobman> {
  const home = resolveHome(options.home);
  const dbPath = options.db ?? join(home, 'databox.db');
  // Read before the token is written: a home that has a token was used before (and a database of its
  // own that is missing now was lost; one named by `db` may be new).
  const used = options.db === undefined && (await homeWasUsed(home));
  const token = await ensureToken(home);
  const heartbeatMs = options.heartbeatMs ?? 1000;
  const missedHeartbeats = options.missedHeartbeats ?? 3;
  await checkDatabase(dbPath, used, options.init === true);
  const store = await openStore(dbPath);
  let registry: Registry | undefined;
  let app: FastifyInstance | undefined;
  const nodes = new NodeTable(heartbeatMs, missedHeartbeats, options.forgetDeadNodesAfterMs);
  const events = new JobEvents(store);
  try {
    const scheduler = await Scheduler.start(store, {
      ...(options.windowSize !== undefined ? { windowSize: options.windowSize } : {}),
      ...(options.localityWaitMs !== undefined ? { localityWaitMs: options.localityWaitMs } : {}),
      ...(options.pinnedNodeGraceMs !== undefined ? { pinnedNodeGraceMs: options.pinnedNodeGraceMs } : {}),
    });
    registry = openRegistry(options.registry ?? 'embedded');
    const taskmen = new Map<string, Registration<'taskman'>>();

    nodes.on('joined', (name) => scheduler.nodeUp(name));
    nodes.on('dead', (name) => {
      void (async () => {
        const down = await scheduler.nodeDown(name);
        app?.log.warn({ node: name, requeued: down.requeued }, 'node declared dead; its subtasks went back to the head of the deque');
        nodes.wakeAll();
        const reg = taskmen.get(name);
        taskmen.delete(name);
        await reg?.revoke();
      })().catch((err: unknown) => app?.log.error({ node: name, err: messageOf(err) }, 'could not take back a dead node’s work'));
    });

    // Logs (pino JSON lines on stderr) say what happens to nodes and what fails; not every request, as
    // each Taskman sends several a second.
    app = Fastify({
      logger: options.log ? { level: 'info', stream: process.stderr } : false,
      logController: new LogController({ disableRequestLogging: true }),
      bodyLimit: 256 * 1024 * 1024,
      forceCloseConnections: true,
      requestTimeout: CONNECTION_LIMITS.requestTimeoutMs,
      keepAliveTimeout: CONNECTION_LIMITS.keepAliveTimeoutMs,
    });
    limitConnections(app.server);
    app.setValidatorCompiler(validatorCompiler);
    app.setSerializerCompiler(serializerCompiler);
    await app.register(fastifySwagger, {
      openapi: {
        info: { title: 'DataboxMR Jobman API', version: VERSION, description: 'Jobs, their subtasks and results, nodes, and the Taskman link.' },
        components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
        security: [{ bearer: [] }],
      },
      transform: jsonSchemaTransform,
    });
    app.setErrorHandler(errorHandler);
    app.addHook('onRequest', async (req, reply) => {
      if (req.url === '/healthz') return;
      if (!authorized(req.headers.authorization, token)) {
        await reply
          .code(401)
          .header('www-authenticate', 'Bearer')
          .send({ statusCode: 401, code: 'ERR_UNAUTHORIZED', error: 'Unauthorized', message: unauthorizedReason(req.headers.authorization) });
      }
    });

    const started = Date.now();
    const typed = app.withTypeProvider<ZodTypeProvider>();
    const udfs = await UdfBundles.open(home);
    registerRoutes(typed, { scheduler, store, nodes, events, registry, taskmen, udfs, tasks: new TaskRegistry(options.taskPackages), version: VERSION, started });
    registerMetrics(typed, { scheduler, store, nodes });
    typed.get('/openapi.json', { schema: { hide: true } }, () => app!.swagger());

    await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 7070 });
    const address = app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : options.port;
    // A wildcard address is not one a client can dial: name this host instead.
    const listen = options.host ?? '127.0.0.1';
    const host = listen === '0.0.0.0' || listen === '::' ? hostname() : listen;
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    const me = await registry.register('jobman', randomUUID(), { url, startedAt: new Date().toISOString() });

    const server = app;
    const reg = registry;
    let closing: Promise<void> | undefined;
    return {
      url,
      token,
      home,
      scheduler,
      store,
      nodes,
      close: () =>
        (closing ??= (async () => {
          scheduler.close();
          nodes.close();
          events.close();
          await server.close();
          await me.revoke().catch(() => undefined);
          await reg.close();
          await store.close();
        })()),
    };
  } catch (err) {
    nodes.close();
    events.close();
    await app?.close().catch(() => undefined);
    await registry?.close().catch(() => undefined);
    await store.close();
    throw err;
  }
}

/**
 * How long a client may take to send a request, so that idle or half-sent connections (a slow-loris
 * client, a peer that vanished mid-request) cannot pile up. They bound receiving the request only: a
 * held heartbeat or an event stream may answer for as long as it needs.
 */
const CONNECTION_LIMITS = {
  /** The request line and headers. */
  headersTimeoutMs: 5_000,
  /** The whole request, body included: a 64 MiB body at 1 MB/s still arrives. */
  requestTimeoutMs: 120_000,
  /** A kept-alive connection with no request in progress. */
  keepAliveTimeoutMs: 5_000,
  /** How often Node checks the two request limits (its default, 30 s, would let them run late). */
  checkEveryMs: 1_000,
} as const;

function limitConnections(server: import('node:http').Server): void {
  server.headersTimeout = CONNECTION_LIMITS.headersTimeoutMs;
  // Read when the server starts listening, so setting it here takes effect.
  (server as { connectionsCheckingInterval?: number }).connectionsCheckingInterval = CONNECTION_LIMITS.checkEveryMs;
}

/** True when the home holds the token a Jobman writes on its first start. */
async function homeWasUsed(home: string): Promise<boolean> {
  return stat(tokenPath(home)).then(
    () => true,
    () => false,
  );
}

/**
 * Refuses a database that would silently start empty in a home that was used before: missing, empty
 * (0 bytes) or not an SQLite file. With `init`, a missing or empty one is started afresh and an
 * unreadable one is renamed aside first, never deleted.
 */
async function checkDatabase(path: string, used: boolean, init: boolean): Promise<void> {
  const found = await stat(path).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? undefined : Promise.reject(err)));
  let problem: string | undefined;
  let readable = true;
  if (found === undefined) {
    if (used) problem = 'is missing, though this home was used before (it holds a token)';
  } else if (found.size === 0) {
    // A new database's first pages may still be in its write-ahead log only: that is not empty.
    const wal = await stat(`${path}-wal`).catch(() => undefined);
    if (wal === undefined || wal.size === 0) problem = 'is empty (0 bytes)';
  } else {
    const head = Buffer.alloc(SQLITE_MAGIC.length);
    const handle = await open(path, 'r');
    try {
      await handle.read(head, 0, head.length, 0);
    } finally {
      await handle.close();
    }
    if (!head.equals(SQLITE_MAGIC)) {
      problem = 'is not an SQLite database (unreadable)';
      readable = false;
    }
  }
  if (problem === undefined) return;
  if (!init) {
    throw new DataboxError(
      'ERR_STORE_EMPTY',
      `The job store ${path} ${problem}; starting on it would forget every job. Restore it from a backup, or start with --init to begin a new, empty job store${readable ? '' : ' (the unreadable file is kept, renamed aside)'}.`,
    );
  }
  if (!readable) await rename(path, `${path}.unreadable-${Date.now()}`);
}

/** The first 16 bytes of every SQLite 3 database file. */
const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');

function authorized(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (m === null) return false;
  const given = Buffer.from(m[1]!);
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

function unauthorizedReason(header: string | undefined): string {
  if (header === undefined) return 'missing Authorization header; send "Authorization: Bearer <token>" with the token from DIR/token or DATABOX_TOKEN';
  if (!/^Bearer\s+\S+\s*$/i.test(header)) return 'the Authorization header must be "Bearer <token>"';
  return 'wrong API token; use the one in the Jobman’s DIR/token';
}

/** HTTP statuses of the errors the engine throws on purpose; anything else is a 500. */
const STATUS: Record<string, number> = {
  // A body so deeply nested that validating it overflows the stack.
  FST_ERR_VALIDATION: 400,
  ERR_JOB_NOT_FOUND: 404,
  ERR_SUBTASK_NOT_FOUND: 404,
  ERR_JOB_SPEC: 400,
  ERR_STORE_VALUE: 400,
  ERR_UNKNOWN_NODE: 400,
  ERR_UNKNOWN_TASK: 400,
  ERR_UDF_UNKNOWN: 404,
  ERR_UDF_HASH: 400,
  ERR_SCHEDULER_ARGUMENT: 400,
  ERR_JOB_CANCELLED: 409,
  ERR_NODE_CONFLICT: 409,
  [DROPPED_CODE]: 409,
};

function errorHandler(this: FastifyInstance, err: FastifyError, req: FastifyRequest, reply: import('fastify').FastifyReply): void {
  if (hasZodFastifySchemaValidationErrors(err)) {
    const first = err.validation[0]!;
    const context = err.validationContext ?? 'body';
    const path = first.instancePath.split('/').filter(Boolean);
    const where = [context, ...path].join('.');
    const received = valueAt(context === 'querystring' ? req.query : context === 'params' ? req.params : context === 'headers' ? req.headers : req.body, path);
    const got = received === undefined ? '' : ` (got ${JSON.stringify(received)?.slice(0, 80)})`;
    void reply.code(400).send({ statusCode: 400, code: 'ERR_VALIDATION', error: 'Bad Request', message: `${where} ${first.message}${got}` });
    return;
  }
  // The scheduler's NODE_NOT_UP on a heartbeat means the node was declared dead while its request was
  // held: the Taskman hears it as a drop.
  const code = err.code === 'ERR_NODE_NOT_UP' ? DROPPED_CODE : err.code;
  const status = (code !== undefined ? STATUS[code] : undefined) ?? (err.statusCode !== undefined && err.statusCode < 500 ? err.statusCode : 500);
  if (status >= 500) this.log.error({ err }, 'request failed');
  void reply.code(status).send({ statusCode: status, code: code ?? 'ERR_INTERNAL', error: status >= 500 ? 'Internal Server Error' : 'Request refused', message: err.message });
}

/** The value at a JSON-pointer-like path (fastify's `instancePath`, split), for error messages. */
function valueAt(root: unknown, path: readonly string[]): unknown {
  let v = root;
  for (const key of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}
