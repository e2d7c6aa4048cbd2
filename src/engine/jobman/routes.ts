import { randomUUID } from 'node:crypto';

import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';

import {
  apiErrorSchema,
  cancelResultSchema,
  errorsPageSchema,
  healthSchema,
  heartbeatReplySchema,
  heartbeatSchema,
  jobIdParamsSchema,
  jobListSchema,
  joinReplySchema,
  joinSchema,
  jobViewSchema,
  listJobsQuerySchema,
  nodeListSchema,
  nodeParamsSchema,
  pageQuerySchema,
  resultsPageSchema,
  submitJobSchema,
  udfParamsSchema,
  udfStoredSchema,
  type HeartbeatReply,
} from '../api/schemas.js';
import { messageOf } from '../../errors.js';
import type { Credentials } from '../credentials.js';
import type { AccessPolicy } from '../../storage/index.js';
import type { Registration, Registry } from '../registry/index.js';
import { JobTooLargeError, MAX_RETRIES, type JobSpec, type JobStore } from '../store/index.js';
import type { TaskRegistry } from '../tasks/registry.js';
import { MAX_BUNDLE_BYTES } from '../udf/limits.js';
import { UnknownUdfError, type UdfBundles } from './udfs.js';
import { checkJobStorage } from './access.js';
import { toJobView, type JobEvents } from './events.js';
import type { KillOrder as NodeKill, NodeTable } from './nodes.js';
import type { Scheduler } from './scheduler.js';
import type { KillOrder, ReportedChange } from './types.js';

export type App = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, ZodTypeProvider>;

export interface RouteContext {
  scheduler: Scheduler;
  store: JobStore;
  nodes: NodeTable;
  events: JobEvents;
  registry: Registry;
  /** The registry entries the Jobman holds for its live Taskmen. */
  taskmen: Map<string, Registration<'taskman'>>;
  udfs: UdfBundles;
  credentials: Credentials;
  /** The tasks a job may name. */
  tasks: TaskRegistry;
  /** The storage allow-lists, sent to every Taskman and checked at submit; undefined: everything allowed. */
  access: AccessPolicy | undefined;
  version: string;
  started: number;
  /** Most subtasks one job may have (JobmanOptions.maxSubtasksPerJob). */
  maxSubtasksPerJob: number;
}

/** The longest a heartbeat is held waiting for work. */
const MAX_HOLD_MS = 250;

const errors = { 400: apiErrorSchema, 401: apiErrorSchema, 403: apiErrorSchema, 404: apiErrorSchema, 409: apiErrorSchema };

/** The client API (`/v1/jobs`, `/v1/nodes`, `/healthz`) and the Taskman link (`/v1/nodes/:name/...`). */
export function registerRoutes(app: App, ctx: RouteContext): void {
  const { scheduler, store, nodes, events, udfs } = ctx;

  // Healthy means able to take jobs: the store must still write, not merely answer reads.
  app.get('/healthz', { schema: { response: { 200: healthSchema, 503: apiErrorSchema }, security: [] } }, async (_req, reply) => {
    try {
      await store.checkWritable();
    } catch (err) {
      return reply.code(503).send({ statusCode: 503, code: 'ERR_STORE_UNWRITABLE', error: 'Service Unavailable', message: `the Jobman cannot write its job store: ${messageOf(err)}` });
    }
    return { ok: true as const, version: ctx.version, uptimeMs: Date.now() - ctx.started };
  });

  // A job over the subtask limit is refused before its millions of inputs are validated one by one.
  app.addHook('preValidation', async (req) => {
    if (req.method !== 'POST' || req.routeOptions.url !== '/v1/jobs') return;
    const body = req.body as { count?: unknown; inputs?: unknown } | null;
    const n = typeof body?.count === 'number' ? body.count : Array.isArray(body?.inputs) ? body.inputs.length : 0;
    if (n > ctx.maxSubtasksPerJob) throw new JobTooLargeError(n, ctx.maxSubtasksPerJob);
  });

  app.post('/v1/jobs', { schema: { summary: 'Submit a job', body: submitJobSchema, response: { 201: jobViewSchema, ...errors } } }, async (req, reply) => {
    const b = req.body;
    // An unknown task or a bundle never uploaded is refused now, not on every worker later.
    const task = ctx.tasks.parse(b.task);
    if (task.kind === 'udf' && !(await udfs.has(task.sha256))) throw new UnknownUdfError(task.sha256);
    const spec: JobSpec = { task: b.task, inputs: b.count ?? b.inputs! };
    if (b.args !== undefined) spec.args = b.args;
    if (b.priority !== undefined) spec.priority = b.priority;
    if (b.node !== undefined) spec.node = b.node;
    if (b.waitForNode !== undefined) spec.waitForNode = b.waitForNode;
    if (b.preferNodes !== undefined) spec.preferNodes = b.preferNodes;
    if (b.retries !== undefined) spec.retries = b.retries;
    if (b.timeoutMs !== undefined) spec.timeoutMs = b.timeoutMs;
    if (b.onFailure !== undefined) spec.onFailure = b.onFailure;
    if (b.memoryMb !== undefined) spec.memoryMb = b.memoryMb;
    if (ctx.access !== undefined) await checkJobStorage(ctx.access, ctx.tasks, task, spec);
    const job = await scheduler.submit(spec);
    nodes.wakeAll();
    return reply.code(201).send(toJobView(job));
  });

  // UDF bundles: content-addressed, uploaded once by clients, fetched by workers on first use.
  app.register(async (plain) => {
    const scope = plain.withTypeProvider<ZodTypeProvider>();
    scope.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: MAX_BUNDLE_BYTES }, (_req, body, done) => done(null, body));
    scope.put(
      '/v1/udfs/:sha256',
      { schema: { summary: 'Upload a UDF bundle under its SHA-256 (application/octet-stream)', params: udfParamsSchema, response: { 200: udfStoredSchema, 201: udfStoredSchema, ...errors } } },
      async (req, reply) => {
        if (!Buffer.isBuffer(req.body)) {
          return reply.code(415).send({ statusCode: 415, code: 'ERR_CONTENT_TYPE', error: 'Unsupported Media Type', message: 'A UDF bundle is uploaded as application/octet-stream' });
        }
        const created = await udfs.put(req.params.sha256, req.body);
        return reply.code(created ? 201 : 200).send({ sha256: req.params.sha256, bytes: req.body.length, created });
      },
    );
    scope.get('/v1/udfs/:sha256', { schema: { summary: 'Download a UDF bundle', params: udfParamsSchema, response: errors } }, async (req, reply) =>
      // Bytes, not JSON: the 200 answer has no schema to type it by.
      reply.type('application/octet-stream').send((await udfs.get(req.params.sha256)) as never),
    );
  });

  app.get('/v1/jobs', { schema: { summary: 'List jobs, newest first', querystring: listJobsQuerySchema, response: { 200: jobListSchema, ...errors } } }, async (req) => {
    const jobs = await store.listJobs({ limit: req.query.limit, ...(req.query.before !== undefined ? { beforeId: req.query.before } : {}) });
    return { jobs: jobs.map(toJobView) };
  });

  app.get('/v1/jobs/:id', { schema: { summary: 'A job with its subtask counts', params: jobIdParamsSchema, response: { 200: jobViewSchema, ...errors } } }, async (req) =>
    toJobView(await store.getJob(req.params.id)),
  );

  app.get(
    '/v1/jobs/:id/results',
    { schema: { summary: 'A job’s results in input order', params: jobIdParamsSchema, querystring: pageQuerySchema, response: { 200: resultsPageSchema, ...errors } } },
    async (req) => {
      const { from, limit } = req.query;
      const job = await store.getJob(req.params.id);
      const results = await store.listResults(job.id, { fromIndex: from, limit });
      const end = from + results.length;
      return { results, next: results.length === limit && end < job.total ? end : null };
    },
  );

  app.get(
    '/v1/jobs/:id/errors',
    { schema: { summary: 'The errors of a job’s failed attempts', params: jobIdParamsSchema, querystring: pageQuerySchema, response: { 200: errorsPageSchema, ...errors } } },
    async (req) => {
      const { from, limit } = req.query;
      // Pages end between inputs, never inside one input's attempts: ask for one input's worth more than
      // `limit` rows, and cut after the last whole input (an input has at most MAX_RETRIES + 1 attempts).
      const rows = await store.listAttemptErrors(req.params.id, { fromIndex: from, limit: limit + MAX_RETRIES + 1 });
      let end = rows.length;
      if (rows.length > limit) {
        const cut = rows[limit]!.index;
        end = rows.findIndex((r) => r.index === cut);
        // One input fills the page: keep it whole (it cannot fill the whole query, so nothing is lost).
        if (end === 0) end = rows.findIndex((r) => r.index !== cut);
        if (end === -1) end = rows.length;
      }
      const next = end < rows.length ? rows[end]!.index : null;
      return { errors: rows.slice(0, end).map(({ subtaskId: _id, ...e }) => e), next };
    },
  );

  app.get(
    '/v1/jobs/:id/events',
    { schema: { summary: 'Server-sent events: `progress` with the job on every change, then `end` once it finished', params: jobIdParamsSchema, response: errors } },
    async (req, reply) => {
      const jobId = req.params.id;
      await store.getJob(jobId); // 404 before the stream starts
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      let closed = false;
      let unsubscribe: () => void = () => undefined;
      const end = (): void => {
        if (closed) return;
        closed = true;
        clearInterval(ping);
        unsubscribe();
        res.end();
      };
      // A comment line now and then keeps proxies from closing an idle stream.
      const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
      ping.unref();
      // Listen before anything is awaited, so a client that leaves at once is seen.
      res.on('close', end);
      const client = await registerClient(ctx, req.ip, req.headers['x-databox-client']);
      const forgetClient = (): void => void client?.revoke().catch(() => undefined);
      if (closed) return forgetClient();
      res.on('close', forgetClient);
      unsubscribe = await events.subscribe(jobId, (view, final) => {
        if (closed) return;
        res.write(`event: ${final ? 'end' : 'progress'}\ndata: ${JSON.stringify(view)}\n\n`);
        if (final) end();
      });
      if (closed) unsubscribe();
    },
  );

  app.delete('/v1/jobs/:id', { schema: { summary: 'Cancel a job: queued work is dropped, running work killed', params: jobIdParamsSchema, response: { 200: cancelResultSchema, ...errors } } }, async (req) => {
    const result = await scheduler.cancel(req.params.id);
    sendKills(nodes, result.kill);
    return { id: result.jobId, cancelled: result.cancelled, killed: result.kill.length };
  });

  app.post(
    '/v1/node-tokens',
    { schema: { summary: 'Mint the token a Taskman joins with as one node (API token only)', body: z.strictObject({ node: nodeParamsSchema.shape.name }), response: { 200: z.object({ node: z.string(), token: z.string() }), ...errors } } },
    (req) => ({ node: req.body.node, token: ctx.credentials.nodeToken(req.body.node) }),
  );

  app.get('/v1/nodes', { schema: { summary: 'Taskmen, their workers and counters', response: { 200: nodeListSchema, ...errors } } }, () => ({
    nodes: nodes.views((name) => scheduler.inFlightOn(name)),
  }));

  // --- The Taskman link --------------------------------------------------------------------------

  app.post(
    '/v1/nodes/:name/join',
    { schema: { summary: 'A Taskman joins (Taskman link)', params: nodeParamsSchema, body: joinSchema, response: { 200: joinReplySchema, ...errors } } },
    async (req) => {
      const { name } = req.params;
      nodes.join(name, req.body.incarnation, req.ip, req.body.workers, req.body.storage ?? null, req.body.replaces);
      const old = ctx.taskmen.get(name);
      ctx.taskmen.delete(name);
      await old?.revoke().catch(() => undefined);
      try {
        const value = { address: req.ip, workers: req.body.workers, startedAt: new Date(req.body.startedAt).toISOString() };
        ctx.taskmen.set(name, await ctx.registry.register('taskman', name, value));
      } catch (err) {
        // The node table is the authority on liveness; the registry entry is what others read.
        req.log.warn({ node: name, err: (err as Error).message }, 'could not register the Taskman in the registry');
      }
      req.log.info({ node: name, address: req.ip, workers: req.body.workers }, 'node joined');
      return { heartbeatMs: nodes.heartbeatMs, missedHeartbeats: nodes.missedHeartbeats, access: ctx.access?.given ?? null };
    },
  );

  app.post(
    '/v1/nodes/:name/heartbeat',
    {
      schema: {
        summary: 'A Taskman’s heartbeat: state changes up; work and kill orders down (Taskman link)',
        params: nodeParamsSchema,
        body: heartbeatSchema,
        response: { 200: heartbeatReplySchema, ...errors },
      },
      // Answers carry thousands of subtasks the Jobman built itself: plain JSON.stringify, no re-validation.
      serializerCompiler: () => (data) => JSON.stringify(data),
    },
    async (req, reply) => {
      const { name } = req.params;
      const { incarnation, seq, ack, want, changes, workers, metrics } = req.body;
      nodes.beat(name, incarnation, workers, metrics);
      const lost = nodes.settle(name, seq, ack);
      if (lost.length > 0) {
        let back: number;
        try {
          back = await scheduler.takeBack(name, lost);
        } catch (err) {
          nodes.sent(name, -seq, lost); // still lost: the next heartbeat tries again
          throw err;
        }
        req.log.warn({ node: name, subtasks: back }, 'an answer with work never reached the node; its subtasks went back to the head of the deque');
        nodes.wakeAll();
      }
      let rejected = 0;
      if (changes.length > 0) {
        const report = await scheduler.report(name, changes);
        // A result the store refuses (too large, not storable) fails its attempt instead, so the
        // subtask does not stay running for ever; the attempt's error says why.
        const refusedResults: ReportedChange[] = [];
        report.outcomes.forEach((o, i) => {
          if (o.status !== 'rejected') return;
          rejected++;
          if (rejected <= 5) req.log.warn({ node: name, subtask: o.id, attempt: o.attempt, err: o.error?.message }, 'rejected a reported change');
          const c = changes[i]!;
          if (c.to === 'succeeded' && o.state === 'running') {
            refusedResults.push({ id: c.id, attempt: c.attempt, to: 'failed', error: { message: `the result was refused: ${o.error?.message ?? 'invalid'}`, code: 'ERR_RESULT_REFUSED' } });
          }
        });
        if (refusedResults.length > 0) {
          const again = await scheduler.report(name, refusedResults);
          report.kill.push(...again.kill);
          if (again.outcomes.some((o) => o.retried)) nodes.wakeAll();
        }
        sendKills(nodes, report.kill);
        if (report.outcomes.some((o) => o.retried) || report.kill.length > 0) nodes.wakeAll();
      }
      let work = want > 0 ? await scheduler.pull(name, want) : [];
      if (work.length === 0 && want > 0 && changes.length === 0 && !nodes.hasKills(name)) {
        // Nothing to do: hold the request until work comes (a long poll), so idle nodes start at once.
        // The response's `close` before it is sent means the Taskman hung up.
        const abort = new AbortController();
        reply.raw.once('close', () => abort.abort());
        // At most a quarter second: while held, the Taskman cannot report, so news would wait.
        await nodes.hold(name, Math.min(nodes.heartbeatMs, MAX_HOLD_MS), abort.signal);
        nodes.alive(name, incarnation);
        if (!abort.signal.aborted) work = await scheduler.pull(name, want);
      }
      nodes.sent(name, seq, work);
      const answer: HeartbeatReply = { work, kill: nodes.takeKills(name), rejected };
      return answer;
    },
  );

  app.post(
    '/v1/nodes/:name/leave',
    { schema: { summary: 'A Taskman leaves; its work goes back to the deque (Taskman link)', params: nodeParamsSchema, body: z.strictObject({ incarnation: z.string() }), response: { 204: z.null(), ...errors } } },
    async (req, reply) => {
      nodes.leave(req.params.name, req.body.incarnation);
      return reply.code(204).send(null);
    },
  );
}

function sendKills(nodes: NodeTable, kills: readonly KillOrder[]): void {
  const byNode = new Map<string, NodeKill[]>();
  for (const k of kills) {
    let list = byNode.get(k.node);
    if (list === undefined) byNode.set(k.node, (list = []));
    list.push({ id: k.id, attempt: k.attempt });
  }
  for (const [node, list] of byNode) nodes.order(node, list);
}

/** A client watching a job is registered while it watches, as the paper registers connected clients. */
async function registerClient(ctx: RouteContext, ip: string, header: string | string[] | undefined): Promise<Registration<'client'> | undefined> {
  const m = typeof header === 'string' ? /^([^\s/]{1,255})\/(\d{1,10})$/.exec(header) : null;
  try {
    return await ctx.registry.register('client', randomUUID(), { host: m?.[1] ?? ip, pid: m ? Number(m[2]) : 0, connectedAt: new Date().toISOString() });
  } catch {
    return undefined; // informational only
  }
}
