import { hostname } from 'node:os';
import { setTimeout as delay } from 'node:timers/promises';

import { createParser } from 'eventsource-parser';
import { z } from 'zod';

import { DataboxError, isRetryable } from '../../errors.js';
import { parseOptions } from '../../options.js';
import {
  apiErrorSchema,
  cancelResultSchema,
  errorsPageSchema,
  healthSchema,
  jobListSchema,
  jobViewSchema,
  nodeListSchema,
  resultsPageSchema,
  type JobView,
  type NodeView,
  udfStoredSchema,
  type SubmitJob,
} from '../api/schemas.js';
import { jobmanFetch, type Fetch } from '../api/transport.js';
import { readCa, readToken, resolveHome, resolveJobmanUrl } from '../home.js';

/** Every client default in one place. */
export const clientDefaults = {
  /** @defaultValue 30 s: limit on one request and its answer (event streams excepted) */
  requestTimeoutMs: 30_000,
  /** @defaultValue 45 s: an event stream silent this long (the Jobman pings every 15 s) counts as broken */
  streamIdleMs: 45_000,
  /** @defaultValue 10: broken event streams `waitForJob` re-subscribes after before it gives up */
  resubscribes: 10,
  /** @defaultValue 250 ms: wait before the first re-subscription; doubles each time, up to 4 s */
  resubscribeDelayMs: 250,
  /** @defaultValue 60 s: how long requests and waits retry while the Jobman is unreachable (a restart) */
  outageMs: 60_000,
} as const;

export interface JobmanClientOptions {
  /** Jobman URL. @defaultValue `DATABOX_JOBMAN`, else http://127.0.0.1:7070 */
  url?: string;
  /** API token. @defaultValue `DATABOX_TOKEN`, else the file `HOME/token` */
  token?: string;
  /** Home directory holding the token. @defaultValue `~/.databox` */
  home?: string;
  /** PEM of the certificate authority an https Jobman's certificate is checked against. @defaultValue the file named by `DATABOX_CA`, else the system's */
  ca?: string;
  /** Milliseconds one request may take (event streams excepted). @defaultValue 30000 */
  requestTimeoutMs?: number;
  /** Milliseconds of silence after which an event stream counts as broken. @defaultValue 45000 */
  streamIdleMs?: number;
  /** How many broken event streams `waitForJob` re-subscribes after. @defaultValue 10 */
  resubscribes?: number;
  /** Milliseconds before the first re-subscription (doubling, at most 4 s). @defaultValue 250 */
  resubscribeDelayMs?: number;
  /**
   * How long, in ms, a request or a wait goes on retrying (with back-off) while the Jobman is
   * unreachable: refused or broken connections, answers 502, 503 and 504, as while it restarts. 0
   * fails at once. A submit (POST) is retried only when its connection was refused, so that a job the
   * Jobman may have taken is never submitted twice. @defaultValue 60000
   */
  outageMs?: number;
  /**
   * Told once per outage, when it begins: "the Jobman at URL is unreachable (ECONNREFUSED); retrying
   * for up to 60 s". @defaultValue writes it to stderr as a `databox:` line
   */
  onOutage?: (message: string) => void;
}

const ms = z.number('must be a positive integer number of milliseconds').int('must be a positive integer number of milliseconds').positive('must be a positive integer number of milliseconds');
const optionsSchema = z.strictObject(
  {
    url: z.string('must be a URL string').optional(),
    token: z.string('must be a string').min(1, 'must not be empty').optional(),
    home: z.string('must be a directory path').optional(),
    ca: z.string('must be PEM text').optional(),
    requestTimeoutMs: ms.default(clientDefaults.requestTimeoutMs),
    streamIdleMs: ms.default(clientDefaults.streamIdleMs),
    resubscribes: z.number('must be an integer from 0 to 1000').int('must be an integer from 0 to 1000').min(0).max(1000, 'must be an integer from 0 to 1000').default(clientDefaults.resubscribes),
    resubscribeDelayMs: z.number('must be a non-negative integer number of milliseconds').int().nonnegative('must be a non-negative integer number of milliseconds').default(clientDefaults.resubscribeDelayMs),
    outageMs: z.number('must be a non-negative integer number of milliseconds').int('must be a non-negative integer number of milliseconds').nonnegative('must be a non-negative integer number of milliseconds').default(clientDefaults.outageMs),
    onOutage: z
      .custom<(message: string) => void>((v) => typeof v === 'function', 'must be a function taking a message')
      .default(() => (message: string) => void process.stderr.write(`databox: ${message}\n`)),
  },
  'must be an object of known fields',
);
type ResolvedClientOptions = z.output<typeof optionsSchema>;

/** One message of a job's event stream: `progress` on every change, then `end` once it finished. */
export interface JobEvent {
  type: 'progress' | 'end';
  job: JobView;
}
export type ResultRow = z.infer<typeof resultsPageSchema>['results'][number];
export type AttemptErrorRow = z.infer<typeof errorsPageSchema>['errors'][number];
export type CancelAnswer = z.infer<typeof cancelResultSchema>;
export type Health = z.infer<typeof healthSchema>;
export type UdfStored = z.infer<typeof udfStoredSchema>;

/** Error codes the client itself raises (the Jobman's own codes come through unchanged). */
export const ClientErrorCode = {
  /** Nothing listens at the URL (or the host is unknown). Retryable. */
  unreachable: 'ERR_JOBMAN_UNREACHABLE',
  /** The connection broke during a request. Retryable. */
  connection: 'ERR_JOBMAN_CONNECTION',
  /** No answer within `requestTimeoutMs`. Retryable. */
  timeout: 'ERR_JOBMAN_TIMEOUT',
  /** An answer that does not parse. */
  answer: 'ERR_JOBMAN_ANSWER',
  /** An event stream that ended, or fell silent, before its job finished. Retryable. */
  stream: 'ERR_JOBMAN_STREAM',
  /** The Jobman's TLS certificate could not be verified (an unknown authority, a wrong name, expired). */
  tls: 'ERR_JOBMAN_TLS',
  /** A bad argument or option given to the client. */
  argument: 'ERR_CLIENT_ARGUMENT',
} as const;

/** An error answer of the Jobman (`{statusCode, code, message}`), with its HTTP status. */
export class JobmanApiError extends DataboxError {
  constructor(
    code: string,
    message: string,
    /** HTTP status of the answer. */
    readonly status: number,
  ) {
    super(code, message, { retryable: status >= 500 || status === 429 });
  }
}

/** Connect errors that mean no Jobman is there, as opposed to one that dropped the connection. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'EADDRNOTAVAIL']);

const CLIENT_HEADER = `${hostname().replace(/[\s/]/g, '_').slice(0, 255) || 'unknown'}/${process.pid}`;

/**
 * A client of the Jobman's HTTP API. Every answer is parsed with the API's zod schemas; error answers
 * become {@link JobmanApiError}s carrying the Jobman's code, and transport failures typed, retryable
 * {@link DataboxError}s naming the URL.
 */
export class JobmanClient {
  private readonly transport: Fetch;
  /** When the current outage began (ms since the epoch): shared by every request, so it is told once. */
  private outageSince: number | undefined;

  private constructor(
    /** The Jobman's base URL, e.g. `http://127.0.0.1:7070`. */
    readonly url: string,
    private readonly token: string,
    private readonly options: ResolvedClientOptions,
    ca: string | undefined,
  ) {
    this.transport = jobmanFetch(ca);
  }

  /** Resolves the URL (option, `DATABOX_JOBMAN`, default) and the token (option, `DATABOX_TOKEN`, `HOME/token`). */
  static async open(opts: JobmanClientOptions = {}): Promise<JobmanClient> {
    const resolved = parseOptions(optionsSchema, opts, (p) => {
      throw new DataboxError(ClientErrorCode.argument, `${p.name} ${p.problem} (got ${show(p.value)})`);
    });
    const url = resolveJobmanUrl(resolved.url);
    const token = resolved.token ?? (await readToken(resolveHome(resolved.home)));
    return new JobmanClient(url, token, resolved, resolved.ca ?? (await readCa()));
  }

  /** The Jobman's health, at once: a health check does not ride over an outage, it reports it. */
  async health(signal?: AbortSignal): Promise<Health> {
    return this.request('GET', '/healthz', healthSchema, { signal, once: true });
  }

  /** Submits a job; the Jobman validates the body and answers the new job. */
  async submit(body: SubmitJob, signal?: AbortSignal): Promise<JobView> {
    return this.request('POST', '/v1/jobs', jobViewSchema, { body, signal });
  }

  /** Jobs, newest first: at most `limit` (1..1000, default 50), with ids below `before` when given. */
  async listJobs(page: { limit?: number; before?: number } = {}, signal?: AbortSignal): Promise<JobView[]> {
    const query = new URLSearchParams();
    if (page.limit !== undefined) query.set('limit', String(page.limit));
    if (page.before !== undefined) query.set('before', String(checkId(page.before, 'before')));
    const q = query.size > 0 ? `?${query.toString()}` : '';
    return (await this.request('GET', `/v1/jobs${q}`, jobListSchema, { signal })).jobs;
  }

  async getJob(id: number, signal?: AbortSignal): Promise<JobView> {
    return this.request('GET', `/v1/jobs/${checkId(id)}`, jobViewSchema, { signal });
  }

  /** Every subtask's row in input order (`result` is null until it succeeded), page by page. */
  async *results(id: number, opts: { pageSize?: number; signal?: AbortSignal } = {}): AsyncGenerator<ResultRow> {
    const path = `/v1/jobs/${checkId(id)}/results`;
    const limit = checkPageSize(opts.pageSize);
    for (let from: number | null = 0; from !== null; ) {
      const page: z.infer<typeof resultsPageSchema> = await this.request('GET', `${path}?from=${from}&limit=${limit}`, resultsPageSchema, { signal: opts.signal });
      yield* page.results;
      from = this.advance(path, from, page.next);
    }
  }

  /** The errors of the job's failed attempts, by input index then attempt. */
  async *errors(id: number, opts: { pageSize?: number; signal?: AbortSignal } = {}): AsyncGenerator<AttemptErrorRow> {
    const path = `/v1/jobs/${checkId(id)}/errors`;
    const pageSize = checkPageSize(opts.pageSize);
    for (let from: number | null = 0; from !== null; ) {
      // The Jobman pages by input index but cuts pages by row: a full page may end inside the errors of
      // one input, and its `next` then skips the rest of them. So the last input of a full page is asked
      // for again with the next page, and a full page of one input's errors is asked for again, larger.
      let page: z.infer<typeof errorsPageSchema>;
      for (let limit = pageSize; ; limit = Math.min(limit * 2, MAX_PAGE)) {
        page = await this.request('GET', `${path}?from=${from}&limit=${limit}`, errorsPageSchema, { signal: opts.signal });
        const rows = page.errors;
        if (page.next === null || limit === MAX_PAGE || rows.length === 0 || rows[0]!.index !== rows.at(-1)!.index) break;
      }
      let { errors: rows, next } = page;
      const last = rows.at(-1)?.index;
      if (next !== null && last !== undefined && rows[0]!.index !== last) {
        rows = rows.filter((r) => r.index !== last);
        next = last;
      }
      yield* rows;
      from = this.advance(path, from, next);
    }
  }

  /**
   * The job's server-sent events: `progress` with the job now and on every change, then `end` once it
   * finished, after which the iterator returns. A stream that breaks or ends before `end` throws a
   * retryable `ERR_JOBMAN_STREAM` error (see {@link waitForJob}, which re-subscribes).
   */
  async *events(id: number, opts: { signal?: AbortSignal } = {}): AsyncGenerator<JobEvent> {
    const path = `/v1/jobs/${checkId(id)}/events`;
    const { streamIdleMs, requestTimeoutMs } = this.options;
    const local = new AbortController();
    const signal = opts.signal === undefined ? local.signal : AbortSignal.any([opts.signal, local.signal]);
    let silentFor = requestTimeoutMs; // until the answer's head arrives, then streamIdleMs
    const idle = (): DataboxError => new DataboxError(ClientErrorCode.stream, `the Jobman at ${this.url} sent nothing on job ${id}'s event stream for ${silentFor} ms`, { retryable: true });
    let timer = setTimeout(() => local.abort(idle()), silentFor);
    const rearm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => local.abort(idle()), silentFor);
    };
    try {
      const res = await this.fetch('GET', path, { signal, headers: { accept: 'text/event-stream', 'x-databox-client': CLIENT_HEADER } });
      if (!res.ok) throw await this.answerError(res, 'GET', path);
      this.outageSince = undefined;
      const type = res.headers.get('content-type') ?? '';
      if (!type.startsWith('text/event-stream') || res.body === null) {
        throw new DataboxError(ClientErrorCode.answer, `the Jobman at ${this.url} answered GET ${path} with ${show(type)} instead of an event stream`);
      }
      silentFor = streamIdleMs;
      rearm();
      const queue: JobEvent[] = [];
      let bad: Error | undefined;
      const parser = createParser({
        onEvent: (m) => {
          if (m.event !== 'progress' && m.event !== 'end') return; // a later Jobman may send more kinds
          try {
            queue.push({ type: m.event, job: this.parseBody(m.data, jobViewSchema, `a "${m.event}" event of GET ${path}`) });
          } catch (err) {
            bad ??= err as Error;
          }
        },
      });
      const decoder = new TextDecoder();
      for await (const chunk of res.body) {
        rearm();
        parser.feed(decoder.decode(chunk, { stream: true }));
        if (bad !== undefined) throw bad;
        for (let e = queue.shift(); e !== undefined; e = queue.shift()) {
          clearTimeout(timer); // a slow consumer is not a silent Jobman
          yield e;
          if (e.type === 'end') return;
          rearm();
        }
      }
      throw new DataboxError(ClientErrorCode.stream, `the Jobman at ${this.url} ended job ${id}'s event stream before the job finished`, { retryable: true });
    } catch (err) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      if (local.signal.aborted) throw local.signal.reason; // fell silent
      throw err instanceof DataboxError ? err : this.transportError(err, 'GET', path, ClientErrorCode.stream);
    } finally {
      clearTimeout(timer);
      local.abort(); // a consumer that stops early closes the stream
    }
  }

  /**
   * The job's events across broken streams, until `end`: {@link events}, subscribed to again when a
   * stream breaks or ends early (a proxy timing out), up to `resubscribes` times, and while the Jobman
   * is unreachable (it restarts) for up to `outageMs`. Every event carries the whole job, so a new
   * stream simply goes on from the job as it is now (a view may repeat).
   */
  async *followEvents(id: number, opts: { signal?: AbortSignal } = {}): AsyncGenerator<JobEvent> {
    const { resubscribes, resubscribeDelayMs } = this.options;
    let last: unknown;
    let broken = 0;
    // Bounded by `resubscribes` and by the outage limit; the count is a backstop.
    for (let round = 0, retries = 0; round < MAX_ROUNDS; round++) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      try {
        for await (const event of this.events(id, opts)) {
          retries = 0;
          yield event;
          if (event.type === 'end') return;
        }
      } catch (err) {
        if (opts.signal?.aborted) throw opts.signal.reason;
        if (this.options.outageMs > 0 && this.isOutage(err, true)) {
          await this.rideOut(err, true, retries++, opts.signal);
          continue;
        }
        if (!isRetryable(err)) throw err;
        last = err;
        if (++broken > resubscribes) break;
        await delay(Math.min(resubscribeDelayMs * 2 ** (broken - 1), 4_000), undefined, { signal: opts.signal }).catch(() => undefined);
      }
    }
    const why = last instanceof Error ? last.message : String(last);
    throw new DataboxError(ClientErrorCode.stream, `gave up waiting for job ${id} after ${broken} broken event streams; the last: ${why}`, { cause: last, retryable: true });
  }

  /**
   * Waits for the job to finish and answers it, calling `onProgress` with every view of it, over broken
   * streams and Jobman restarts as {@link followEvents} does.
   */
  async waitForJob(id: number, opts: { signal?: AbortSignal; onProgress?: (job: JobView) => void } = {}): Promise<JobView> {
    for await (const event of this.followEvents(id, opts.signal ? { signal: opts.signal } : {})) {
      opts.onProgress?.(event.job);
      if (event.type === 'end') return event.job;
    }
    // followEvents returns only after `end`, or throws.
    throw new DataboxError(ClientErrorCode.stream, `the events of job ${id} ended before the job did`, { retryable: true });
  }

  /** Cancels the job: queued work is dropped, running work killed. Cancelling a finished job changes nothing. */
  async cancel(id: number, signal?: AbortSignal): Promise<CancelAnswer> {
    return this.request('DELETE', `/v1/jobs/${checkId(id)}`, cancelResultSchema, { signal });
  }

  /** True when the Jobman holds UDF bundle `sha256`. */
  async hasUdf(sha256: string, signal?: AbortSignal): Promise<boolean> {
    const path = `/v1/udfs/${sha256}`;
    return this.send('HEAD', path, { signal }, async (res) => {
      if (res.status === 404) return false;
      if (!res.ok) throw await this.answerError(res, 'HEAD', path);
      return true;
    });
  }

  /** Uploads UDF bundle bytes under their SHA-256; the Jobman checks the hash. */
  async uploadUdf(sha256: string, code: Uint8Array, signal?: AbortSignal): Promise<UdfStored> {
    return this.request('PUT', `/v1/udfs/${sha256}`, udfStoredSchema, { body: code, signal });
  }

  /** The Taskmen the Jobman knows, alive or dead, with their workers and counters. */
  async nodes(signal?: AbortSignal): Promise<NodeView[]> {
    return (await this.request('GET', '/v1/nodes', nodeListSchema, { signal })).nodes;
  }

  // --- transport -----------------------------------------------------------------------------------

  private async request<S extends z.ZodType>(method: string, path: string, schema: S, opts: { body?: unknown; signal?: AbortSignal | undefined; once?: boolean }): Promise<z.output<S>> {
    return this.send(method, path, opts, async (res) => {
      if (!res.ok) throw await this.answerError(res, method, path);
      return this.parseBody(await res.text(), schema, `${method} ${path}`);
    });
  }

  /**
   * A request, retried while the Jobman is unreachable (see `outageMs`) unless `once`. Every method but
   * POST is idempotent here (a PUT stores bytes under their hash, a DELETE cancels), so those are
   * retried after a broken connection too; a POST only after a refused one.
   */
  private async send<T>(method: string, path: string, opts: { body?: unknown; signal?: AbortSignal | undefined; once?: boolean }, read: (res: Response) => Promise<T>): Promise<T> {
    const idempotent = method !== 'POST';
    for (let retries = 0; ; retries++) {
      try {
        const value = await this.sendOnce(method, path, opts, read);
        this.outageSince = undefined;
        return value;
      } catch (err) {
        if (opts.once === true || (opts.signal?.aborted ?? false)) throw err;
        await this.rideOut(err, idempotent, retries, opts.signal);
      }
    }
  }

  /** True for a failure that says the Jobman is not there for now, as opposed to a refusal or a bug. */
  private isOutage(err: unknown, idempotent: boolean): boolean {
    if (err instanceof JobmanApiError) return err.status === 502 || err.status === 503 || err.status === 504;
    if (!(err instanceof DataboxError)) return false;
    // A host name that does not resolve is a wrong URL, not a restart.
    if (err.code === ClientErrorCode.unreachable) return causeCode(err.cause) !== 'ENOTFOUND';
    return idempotent && err.code === ClientErrorCode.connection;
  }

  /**
   * After a failed request: throws it again unless it is an outage with time left, else waits the
   * back-off (250 ms doubling to 4 s, within what is left). Tells `onOutage` when an outage begins, and
   * gives up with the last failure once `outageMs` have passed since then.
   */
  private async rideOut(err: unknown, idempotent: boolean, retries: number, signal: AbortSignal | undefined): Promise<void> {
    const { outageMs, onOutage } = this.options;
    if (outageMs === 0 || !this.isOutage(err, idempotent)) throw err;
    const now = Date.now();
    if (this.outageSince === undefined) {
      this.outageSince = now;
      onOutage(`the Jobman at ${this.url} is unreachable (${outageReason(err)}); retrying for up to ${seconds(outageMs)}`);
    }
    const left = this.outageSince + outageMs - now;
    if (left <= 0) {
      const e = err as DataboxError;
      const message = `${e.message}; gave up after retrying for ${seconds(outageMs)}`;
      throw err instanceof JobmanApiError ? new JobmanApiError(e.code, message, err.status) : new DataboxError(e.code, message, { cause: err, retryable: true });
    }
    try {
      await delay(Math.min(OUTAGE_FIRST_DELAY_MS * 2 ** Math.min(retries, 10), OUTAGE_MAX_DELAY_MS, left), undefined, { signal });
    } catch {
      throw signal?.reason ?? err;
    }
  }

  /**
   * One request and the reading of its answer, within the time limit and with transport errors named. A
   * body of bytes goes as octet-stream, anything else as JSON.
   */
  private async sendOnce<T>(method: string, path: string, opts: { body?: unknown; signal?: AbortSignal | undefined }, read: (res: Response) => Promise<T>): Promise<T> {
    const timeout = AbortSignal.timeout(this.options.requestTimeoutMs);
    const signal = opts.signal === undefined ? timeout : AbortSignal.any([opts.signal, timeout]);
    const bytes = opts.body instanceof Uint8Array;
    try {
      const res = await this.fetch(method, path, {
        signal,
        headers: opts.body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': bytes ? 'application/octet-stream' : 'application/json' },
        ...(opts.body === undefined ? {} : { body: bytes ? (opts.body as Uint8Array) : JSON.stringify(opts.body) }),
      });
      return await read(res);
    } catch (err) {
      if (opts.signal?.aborted) throw opts.signal.reason;
      if (err instanceof DataboxError) throw err;
      if (timeout.aborted) {
        throw new DataboxError(ClientErrorCode.timeout, `the Jobman at ${this.url} did not answer ${method} ${path} within ${this.options.requestTimeoutMs} ms`, { retryable: true });
      }
      throw this.transportError(err, method, path, ClientErrorCode.connection);
    }
  }

  private fetch(method: string, path: string, init: { signal: AbortSignal; headers: Record<string, string>; body?: string | Uint8Array }): Promise<Response> {
    return this.transport(`${this.url}${path}`, { method, signal: init.signal, headers: { ...init.headers, authorization: `Bearer ${this.token}` }, ...(init.body === undefined ? {} : { body: init.body }) });
  }

  private async answerError(res: Response, method: string, path: string): Promise<DataboxError> {
    const text = await res.text().catch(() => '');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const api = apiErrorSchema.safeParse(body);
    if (api.success) return new JobmanApiError(api.data.code, api.data.message, res.status);
    const snippet = text.replace(/\s+/g, ' ').trim().slice(0, 200);
    return new JobmanApiError('ERR_JOBMAN_HTTP', `the Jobman at ${this.url} answered ${method} ${path} with HTTP ${res.status}${snippet ? `: ${snippet}` : ''}`, res.status);
  }

  private parseBody<S extends z.ZodType>(text: string, schema: S, what: string): z.output<S> {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new DataboxError(ClientErrorCode.answer, `the Jobman at ${this.url} answered ${what} with something other than JSON: ${show(text.slice(0, 80))}`);
    }
    const parsed = schema.safeParse(body);
    if (parsed.success) return parsed.data;
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : 'the body';
    throw new DataboxError(ClientErrorCode.answer, `the Jobman at ${this.url} answered ${what} with a body this client does not understand: ${where} ${issue?.message ?? 'is invalid'}`);
  }

  private transportError(err: unknown, method: string, path: string, code: string): unknown {
    if (!(err instanceof TypeError)) return err;
    const cause = causeCode(err);
    if (cause !== undefined && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(cause)) {
      const detail = innermostMessage(err);
      return new DataboxError(
        ClientErrorCode.tls,
        `the Jobman at ${this.url} presented a certificate this client does not trust (${cause}${detail !== undefined ? `: ${detail}` : ''}); give the authority that signed it with --ca FILE or DATABOX_CA`,
        { cause: err },
      );
    }
    if (cause !== undefined && UNREACHABLE.has(cause)) {
      return new DataboxError(ClientErrorCode.unreachable, `cannot reach the Jobman at ${this.url} (${cause}); start one with \`databox up\` or pass --jobman`, { cause: err, retryable: true });
    }
    return new DataboxError(code, `lost the connection to the Jobman at ${this.url} during ${method} ${path} (${cause ?? err.message})`, { cause: err, retryable: true });
  }

  /** The next page's `from`, checked to move forward so that paging always ends. */
  private advance(path: string, from: number, next: number | null): number | null {
    if (next !== null && next <= from) throw new DataboxError(ClientErrorCode.answer, `the Jobman at ${this.url} answered GET ${path}?from=${from} with next=${next}, which does not move forward`);
    return next;
  }
}

/** The message of the deepest cause of a fetch failure (the TLS or socket error itself). */
function innermostMessage(err: unknown): string | undefined {
  let message: string | undefined;
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; depth++, e = e.cause) message = e.message;
  return message;
}

/** Subscriptions `waitForJob` makes at most, whatever the other limits say. */
const MAX_ROUNDS = 100_000;
const OUTAGE_FIRST_DELAY_MS = 250;
const OUTAGE_MAX_DELAY_MS = 4_000;

/** `ECONNREFUSED`, `HTTP 503`: what an outage looks like, for the line that reports it. */
function outageReason(err: unknown): string {
  if (err instanceof JobmanApiError) return `HTTP ${err.status}`;
  return causeCode((err as { cause?: unknown }).cause) ?? (err instanceof Error ? err.message : String(err));
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

/** The system error code under a fetch failure (`ECONNREFUSED`), through causes and aggregate errors. */
function causeCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    const inner = (e as { errors?: unknown[] }).errors?.[0];
    if (inner !== undefined && typeof (inner as { code?: unknown }).code === 'string') return (inner as { code: string }).code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

function checkId(id: number, name = 'job id'): number {
  if (!Number.isSafeInteger(id) || id < 1) throw new DataboxError(ClientErrorCode.argument, `${name} must be a positive integer (got ${show(id)})`);
  return id;
}

/** The most rows the Jobman answers in one page. */
const MAX_PAGE = 10_000;

function checkPageSize(size: number | undefined): number {
  const n = size ?? 1000;
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE) throw new DataboxError(ClientErrorCode.argument, `pageSize must be an integer from 1 to ${MAX_PAGE} (got ${show(size)})`);
  return n;
}

function show(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}
