import { randomUUID } from 'node:crypto';
import { open, rename, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';

import fastifySwagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';

import { DataboxError, messageOf } from '../../errors.js';
import { AccessPolicy } from '../../storage/index.js';
import { DROPPED_CODE, MIN_BODY_BYTES } from '../api/schemas.js';
import { Credentials, nodeSecretPath, readTokenPath } from '../credentials.js';
import { resolveHome, tokenPath } from '../home.js';
import { openRegistry, type Registration, type Registry } from '../registry/index.js';
import { openStore, storeDefaults, type JobStore } from '../store/index.js';
import { MAX_BUNDLE_BYTES } from '../udf/limits.js';
import { refusal } from './auth.js';
import { JobEvents } from './events.js';
import { registerMetrics } from './metrics.js';
import { NodeTable } from './nodes.js';
import { jsonPreview } from './preview.js';
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
  /** Serve HTTPS with this certificate and key (PEM). @defaultValue none: plain HTTP, which only a loopback address may serve unless `insecure` */
  tls?: { cert: string; key: string };
  /** Serve plain HTTP on an address other hosts can reach, tokens in clear. @defaultValue false */
  insecure?: boolean;
  /**
   * Storage the cluster's tasks may read: absolute path prefixes, `s3://bucket/prefix`,
   * `http(s)://host[:port]/prefix`, or `*` (see storage/access/policy.ts). Sent to every Taskman, whose
   * workers enforce it, and checked at submit (403 ERR_STORAGE_DENIED). With neither this nor
   * `allowWrite` given, no policy: everything is allowed. @defaultValue none
   */
  allowRead?: readonly string[];
  /** Storage the cluster's tasks may write, as `allowRead`. @defaultValue none */
  allowWrite?: readonly string[];
  /**
   * Largest request body, in bytes; a larger one is refused with 413 ERR_BODY_TOO_LARGE before it is
   * read. At least MIN_BODY_BYTES (16 MiB), so a Taskman's heartbeat (at most 8 MiB of changes) always
   * fits; UDF bundle uploads have their own limit (MAX_BUNDLE_BYTES, 32 MiB). `--max-body-mb`.
   * @defaultValue 67108864 (64 MiB)
   */
  maxBodyBytes?: number;
  /**
   * Most subtasks one job may have (its count, or its number of inputs); a larger job is refused with
   * 413 ERR_JOB_TOO_LARGE before anything of it is written. At most MAX_INPUTS (100,000,000).
   * `--max-subtasks`. @defaultValue 10000000
   */
  maxSubtasksPerJob?: number;
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

/** Default of `JobmanOptions.maxBodyBytes`: 64 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;

export interface Jobman {
  /** `http://HOST:PORT`. */
  readonly url: string;
  /** The API token (`HOME/token`): clients submit, cancel and read with it. */
  readonly token: string;
  /** The read-only token (`HOME/read-token`), for dashboards and viewers. */
  readonly readToken: string;
  /** The token a Taskman must hold to join as `node` (see credentials.ts). */
  nodeToken(node: string): string;
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
  const listen = options.host ?? '127.0.0.1';
  if (options.tls === undefined && options.insecure !== true && !isLoopback(listen)) {
    throw new DataboxError(
      'ERR_INSECURE_LISTEN',
      `Refusing to serve plain HTTP on ${listen}: tokens would cross the network in clear. Give --tls-cert and --tls-key, or --insecure if the network is yours alone`,
    );
  }
  const home = resolveHome(options.home);
  const dbPath = options.db ?? join(home, 'databox.db');
  // Bad rules fail the start, naming the rule; the Jobman checks strings as written (see jobman/access.ts).
  // Its own secrets and job store are out of every task's reach, whatever the rules allow.
  const deny = [tokenPath(home), readTokenPath(home), nodeSecretPath(home), ...['', '-wal', '-shm', '-journal'].map((end) => resolve(`${dbPath}${end}`))];
  const access = options.allowRead === undefined && options.allowWrite === undefined ? undefined : new AccessPolicy({ read: [...(options.allowRead ?? [])], write: [...(options.allowWrite ?? [])], deny }, false);
  // Read before the token is written: a home that has a token was used before (and a database of its
  // own that is missing now was lost; one named by `db` may be new).
  const used = options.db === undefined && (await homeWasUsed(home));
  const credentials = await Credentials.open(home);
  const heartbeatMs = options.heartbeatMs ?? 1000;
  const missedHeartbeats = options.missedHeartbeats ?? 3;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < MIN_BODY_BYTES) {
    throw new DataboxError('ERR_OPTIONS', `maxBodyBytes must be an integer of at least ${MIN_BODY_BYTES} (16 MiB), so Taskmen's heartbeats fit (got ${maxBodyBytes})`);
  }
  const maxSubtasksPerJob = options.maxSubtasksPerJob ?? storeDefaults.maxSubtasksPerJob;
  await checkDatabase(dbPath, used, options.init === true);
  const store = await openStore(dbPath, { maxSubtasksPerJob });
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
      // The registry entry of the Taskman that died, taken now: a successor may register under the same
      // name while its work is being taken back.
      const reg = taskmen.get(name);
      taskmen.delete(name);
      void (async () => {
        const down = await scheduler.nodeDown(name);
        app?.log.warn({ node: name, requeued: down.requeued }, 'node declared dead; its subtasks went back to the head of the deque');
        nodes.wakeAll();
        await reg?.revoke();
      })().catch((err: unknown) => app?.log.error({ node: name, err: messageOf(err) }, 'could not take back a dead node’s work'));
    });

    // Logs (pino JSON lines on stderr) say what happens to nodes and what fails; not every request, as
    // each Taskman sends several a second.
    app = Fastify({
      logger: options.log ? { level: 'info', stream: process.stderr } : false,
      logController: new LogController({ disableRequestLogging: true }),
      bodyLimit: maxBodyBytes,
      forceCloseConnections: true,
      ...(options.tls !== undefined ? { https: { cert: options.tls.cert, key: options.tls.key } } : {}),
      requestTimeout: CONNECTION_LIMITS.requestTimeoutMs,
      keepAliveTimeout: CONNECTION_LIMITS.keepAliveTimeoutMs,
    }) as unknown as FastifyInstance;
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
      const role = credentials.identify(req.headers.authorization);
      if (role === undefined) {
        await reply
          .code(401)
          .header('www-authenticate', 'Bearer')
          .send({ statusCode: 401, code: 'ERR_UNAUTHORIZED', error: 'Unauthorized', message: unauthorizedReason(req.headers.authorization) });
        return;
      }
      const why = refusal(role, req.method, req.routeOptions.url, req.params);
      if (why !== undefined) {
        // Someone holds a valid token and tries what it does not allow: worth a line in the log.
        req.log.warn({ role: role.kind, ...(role.kind === 'node' ? { node: role.node } : {}), method: req.method, url: req.url, address: req.ip }, 'refused a request its token does not allow');
        await reply.code(403).send({ statusCode: 403, code: 'ERR_FORBIDDEN', error: 'Forbidden', message: `Not allowed: ${why}` });
      }
    });

    const started = Date.now();
    const typed = app.withTypeProvider<ZodTypeProvider>();
    const udfs = await UdfBundles.open(home);
    registerRoutes(typed, { scheduler, store, nodes, events, registry, taskmen, udfs, credentials, tasks: new TaskRegistry(options.taskPackages), access, version: VERSION, started, maxSubtasksPerJob });
    registerMetrics(typed, { scheduler, store, nodes });
    typed.get('/openapi.json', { schema: { hide: true } }, () => app!.swagger());

    await app.listen({ host: listen, port: options.port ?? 7070 });
    const address = app.server.address();
    const port = typeof address === 'object' && address !== null ? address.port : options.port;
    // A wildcard address is not one a client can dial: name this host instead.
    const host = listen === '0.0.0.0' || listen === '::' ? hostname() : listen;
    const url = `${options.tls !== undefined ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
    const me = await registry.register('jobman', randomUUID(), { url, startedAt: new Date().toISOString() });

    const server = app;
    const reg = registry;
    let closing: Promise<void> | undefined;
    return {
      url,
      token: credentials.adminToken,
      readToken: credentials.readToken,
      nodeToken: (node) => credentials.nodeToken(node),
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

/** An address only this host can reach: 127.0.0.0/8, ::1, localhost. */
function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
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

function unauthorizedReason(header: string | undefined): string {
  if (header === undefined) return 'missing Authorization header; send "Authorization: Bearer <token>" with the token from DIR/token or DATABOX_TOKEN';
  if (!/^Bearer\s+\S+\s*$/i.test(header)) return 'the Authorization header must be "Bearer <token>"';
  return 'wrong API token: it is not the Jobman’s DIR/token, its DIR/read-token, nor a node token from `databox node-token NODE`';
}

/** HTTP statuses of the errors the engine throws on purpose; anything else is a 500. */
const STATUS: Record<string, number> = {
  // A body so deeply nested that validating it overflows the stack.
  FST_ERR_VALIDATION: 400,
  ERR_JOB_NOT_FOUND: 404,
  ERR_SUBTASK_NOT_FOUND: 404,
  ERR_JOB_SPEC: 400,
  ERR_JOB_TOO_LARGE: 413,
  ERR_BODY_TOO_LARGE: 413,
  ERR_STORE_VALUE: 400,
  ERR_UNKNOWN_NODE: 400,
  ERR_UNKNOWN_TASK: 400,
  ERR_STORAGE_DENIED: 403,
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
    const got = received === undefined ? '' : ` (got ${jsonPreview(received, 80)})`;
    void reply.code(400).send({ statusCode: 400, code: 'ERR_VALIDATION', error: 'Bad Request', message: `${where} ${first.message}${got}` });
    return;
  }
  if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    void reply.code(413).send({ statusCode: 413, code: 'ERR_BODY_TOO_LARGE', error: 'Payload Too Large', message: bodyTooLarge(req) });
    return;
  }
  // The scheduler's NODE_NOT_UP on a heartbeat means the node was declared dead while its request was
  // held: the Taskman hears it as a drop.
  const code = err.code === 'ERR_NODE_NOT_UP' ? DROPPED_CODE : err.code;
  const status = (code !== undefined ? STATUS[code] : undefined) ?? (err.statusCode !== undefined && err.statusCode < 500 ? err.statusCode : 500);
  if (status >= 500) this.log.error({ err }, 'request failed');
  void reply.code(status).send({ statusCode: status, code: code ?? 'ERR_INTERNAL', error: status >= 500 ? 'Internal Server Error' : 'Request refused', message: err.message });
}

/** Why a body was refused: its size where the client said it, the limit, and how to raise it. */
function bodyTooLarge(req: FastifyRequest): string {
  const length = Number(req.headers['content-length']);
  const size = Number.isSafeInteger(length) ? ` of ${length} bytes` : '';
  if (req.routeOptions.url === '/v1/udfs/:sha256') return `The UDF bundle${size} is over the limit of ${MAX_BUNDLE_BYTES} bytes (${MAX_BUNDLE_BYTES / MiB} MiB) for a bundle`;
  const limit = req.routeOptions.bodyLimit;
  return (
    `The request body${size} is over the Jobman's limit of ${limit} bytes (${(limit / MiB).toFixed(limit % MiB === 0 ? 0 : 1)} MiB); ` +
    'split the job (a count, or inputs that name files rather than hold data), or raise the limit with `databox jobman --max-body-mb <n>` (JobmanOptions.maxBodyBytes)'
  );
}

const MiB = 1024 * 1024;

/** The value at a JSON-pointer-like path (fastify's `instancePath`, split), for error messages. */
function valueAt(root: unknown, path: readonly string[]): unknown {
  let v = root;
  for (const key of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}
