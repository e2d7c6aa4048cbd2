import { randomUUID, timingSafeEqual } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';

import fastifySwagger from '@fastify/swagger';
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';

import { messageOf } from '../../errors.js';
import { DROPPED_CODE } from '../api/schemas.js';
import { ensureToken, resolveHome } from '../home.js';
import { openRegistry, type Registration, type Registry } from '../registry/index.js';
import { openStore, type JobStore } from '../store/index.js';
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
  const token = await ensureToken(home);
  const heartbeatMs = options.heartbeatMs ?? 1000;
  const missedHeartbeats = options.missedHeartbeats ?? 3;
  const store = await openStore(options.db ?? join(home, 'databox.db'));
  let registry: Registry | undefined;
  let app: FastifyInstance | undefined;
  const nodes = new NodeTable(heartbeatMs, missedHeartbeats);
  const events = new JobEvents(store);
  try {
    const scheduler = await Scheduler.start(store, {
      ...(options.windowSize !== undefined ? { windowSize: options.windowSize } : {}),
      ...(options.localityWaitMs !== undefined ? { localityWaitMs: options.localityWaitMs } : {}),
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
    });
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
    const got = received === undefined ? '' : ` (got ${jsonPreview(received, 80)})`;
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
