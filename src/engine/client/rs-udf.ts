import { type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { DataboxError } from '../../errors.js';
import type { JobView, SubmitJob } from '../api/schemas.js';
import type { FailurePolicy, JsonValue } from '../store/index.js';
import { bundleUdf } from '../udf/bundle.js';
import { checkBundle } from '../udf/loader.js';
import { decodeValue, encodeValue, MAX_VALUE_BYTES } from '../udf/values.js';
import { checkNodeStorage } from '../storage-settings.js';
import { JobmanClient, type JobEvent } from './client.js';
import { jobResults, waitForSuccess } from './wait.js';

/**
 * The RS-UDF API: the paper's four interfaces (`map`, `mapReduce`, `submitMap`, `submitMapReduce`) and
 * their job handles, over a Jobman. `connect()` (embedded.ts) gives a Cluster.
 */

/** Where a UDF lives: the path or file URL of a module whose default export is `defineUdf(...)`. */
export type UdfModule = string | URL;

/** How a UDF job runs; each is the Jobman's job option of the same name. */
export interface UdfJobOptions {
  /** Queue ahead of normal work. */
  priority?: boolean;
  /** Run only on this node. */
  node?: string;
  /** With `node`: wait for that node however long it is gone, instead of failing with ERR_NODE_GONE after the Jobman's grace period. */
  waitForNode?: boolean;
  /** Nodes that get the subtasks first (where the data is). */
  preferNodes?: string[];
  /** Retries of a failed subtask (or of the whole job under `restart-job`). @defaultValue 3 */
  retries?: number;
  /** Kill a subtask that runs longer than this. */
  timeoutMs?: number;
  onFailure?: FailurePolicy;
  /** Memory limit of the worker process running a subtask, in MiB. */
  memoryMb?: number;
  /** Called with the job on every change while `result()` waits. */
  onProgress?: (job: JobView) => void;
  signal?: AbortSignal;
}

/** A submitted job: its id, its events, its result, and a way to stop it. */
export interface JobHandle<T> {
  /** The map job's id. */
  readonly id: number;
  /** The map job's progress events, then `end`; subscribed to again over broken streams and Jobman restarts (a view may repeat). */
  events(): AsyncGenerator<JobEvent>;
  /** Waits for the job (and, for map-reduce, its reduction) and resolves to its result. */
  result(): Promise<T>;
  /** Cancels the job: queued subtasks are dropped and running ones killed. */
  cancel(): Promise<void>;
}


/** How many partial results one reduce subtask folds. */
const REDUCE_FAN_IN = 64;

/**
 * A DataboxMR cluster as a program sees it: the paper's four RS-UDF interfaces (`map`, `mapReduce`,
 * `submitMap`, `submitMapReduce`) over a Jobman, either one already running (`connect(url)`) or an
 * embedded one this process starts and stops (`connect()`).
 *
 * A UDF is shipped as code: bundled with its dependencies by esbuild, checked here (its default export
 * must be a `defineUdf`), named by its SHA-256 and uploaded once; workers fetch it on first use.
 */
export class Cluster {
  private readonly bundles = new Map<string, Promise<{ sha256: string; hasReduce: boolean }>>();

  private constructor(
    readonly client: JobmanClient,
    private readonly embedded: { child: ChildProcess; home: string } | undefined,
  ) {}

  /** The Jobman's URL. */
  get url(): string {
    return this.client.url;
  }

  /** @internal use {@link connect}. */
  static of(client: JobmanClient, embedded?: { child: ChildProcess; home: string }): Cluster {
    return new Cluster(client, embedded);
  }

  /** Runs `map` on every input across the cluster; resolves to the results in input order. */
  async map<O = unknown>(udf: UdfModule, inputs: Iterable<unknown>, opts: UdfJobOptions = {}): Promise<O[]> {
    return (await this.submitMap<O>(udf, inputs, opts)).result();
  }

  /** Runs `map` on every input and folds the results with the UDF's `reduce`; resolves to the reduced value. */
  async mapReduce<O = unknown>(udf: UdfModule, inputs: Iterable<unknown>, opts: UdfJobOptions = {}): Promise<O> {
    return (await this.submitMapReduce<O>(udf, inputs, opts)).result();
  }

  /** Submits a map job and returns its handle at once. */
  async submitMap<O = unknown>(udf: UdfModule, inputs: Iterable<unknown>, opts: UdfJobOptions = {}): Promise<JobHandle<O[]>> {
    const job = await this.submitUdf(udf, inputs, 'map', opts);
    return this.handle(job.id, opts, async () => (await jobResults(this.client, job.id)).map((r) => decodeValue(r.result) as O));
  }

  /**
   * Submits a map-reduce job and returns its handle at once. The reduction runs on the cluster: first a
   * reduce job per node that ran map subtasks, pinned there, folding that node's results (the combiner);
   * then reduce jobs of up to 64 partials each until one value is left. So `reduce` must be associative
   * and commutative: the order of folding is not the input order.
   */
  async submitMapReduce<O = unknown>(udf: UdfModule, inputs: Iterable<unknown>, opts: UdfJobOptions = {}): Promise<JobHandle<O>> {
    const { sha256, hasReduce } = await this.bundle(udf);
    if (!hasReduce) throw new DataboxError('ERR_UDF_NO_REDUCE', `${String(udf)} has no reduce function; a map-reduce job needs defineUdf({ map, reduce })`);
    const job = await this.submitUdf(udf, inputs, 'map', opts);
    return this.handle(job.id, opts, async () => decodeValue(await this.reduceAll(sha256, await jobResults(this.client, job.id), opts)) as O);
  }

  /** Stops an embedded cluster (a no-op for one attached to by URL). */
  async close(): Promise<void> {
    if (this.embedded === undefined) return;
    const { child, home } = this.embedded;
    if (child.exitCode === null && child.signalCode === null) {
      const exit = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exit;
      clearTimeout(timer);
    }
    await rm(home, { recursive: true, force: true });
  }

  /** Fails unless some live node has workers, as the paper's RS-UDF checks before it submits. */
  /**
   * Fails unless some node has live workers, and, when `urls` name `s3://` objects, unless every live
   * node reaches S3 through the settings this client uses (see `checkNodeStorage`).
   */
  async checkWorkers(signal?: AbortSignal, urls: Iterable<string> = []): Promise<void> {
    const nodes = await this.client.nodes(signal);
    if (!nodes.some((n) => n.state === 'alive' && n.workers.length > 0)) {
      const known = nodes.length === 0 ? 'no node has joined' : `nodes: ${nodes.map((n) => `${n.name} (${n.state}, ${n.workers.length} workers)`).join(', ')}`;
      throw new DataboxError('ERR_NO_WORKERS', `The cluster at ${this.url} has no live workers (${known}); start a Taskman with \`databox taskman --jobman ${this.url}\``);
    }
    checkNodeStorage(nodes, urls, this.url);
  }

  private async submitUdf(udf: UdfModule, inputs: Iterable<unknown>, phase: 'map' | 'reduce', opts: UdfJobOptions): Promise<JobView> {
    const list = [...inputs];
    await this.checkWorkers(opts.signal, stringsIn(list));
    const { sha256 } = await this.bundle(udf);
    const encoded: JsonValue[] = [];
    let i = 0;
    for (const input of list) encoded.push(encodeValue(input, `input[${i++}]`, MAX_VALUE_BYTES));
    if (encoded.length === 0) throw new DataboxError('ERR_CLIENT_ARGUMENT', 'A UDF job needs at least one input (got none)');
    return this.submitEncoded(sha256, encoded, phase, opts);
  }

  private submitEncoded(sha256: string, inputs: JsonValue[], phase: 'map' | 'reduce', opts: UdfJobOptions, node?: string): Promise<JobView> {
    const body: SubmitJob = { task: `udf:${sha256}`, inputs, args: { phase } };
    if (opts.priority !== undefined) body.priority = opts.priority;
    if (node !== undefined || opts.node !== undefined) body.node = node ?? opts.node;
    if (opts.waitForNode !== undefined && opts.node !== undefined) body.waitForNode = opts.waitForNode;
    if (opts.preferNodes !== undefined) body.preferNodes = opts.preferNodes;
    if (opts.retries !== undefined) body.retries = opts.retries;
    if (opts.timeoutMs !== undefined) body.timeoutMs = opts.timeoutMs;
    if (opts.onFailure !== undefined) body.onFailure = opts.onFailure;
    if (opts.memoryMb !== undefined) body.memoryMb = opts.memoryMb;
    return this.client.submit(body, opts.signal);
  }

  /**
   * Bundles a UDF module, imports the bundle here once to check it (a default export made by defineUdf;
   * whether it has a reduce), and uploads it unless the Jobman has it: once per module per cluster.
   */
  private bundle(udf: UdfModule): Promise<{ sha256: string; hasReduce: boolean }> {
    const path = udf instanceof URL || udf.startsWith('file:') ? fileURLToPath(udf) : resolve(udf);
    let done = this.bundles.get(path);
    if (done === undefined) {
      done = (async () => {
        const bundle = await bundleUdf(path);
        const checked = await checkBundle(bundle.code, { resolveFrom: dirname(path) });
        if (!(await this.client.hasUdf(bundle.sha256))) await this.client.uploadUdf(bundle.sha256, bundle.code);
        return { sha256: bundle.sha256, hasReduce: checked.reduce !== undefined };
      })();
      this.bundles.set(path, done);
      done.catch(() => this.bundles.delete(path));
    }
    return done;
  }

  private handle<T>(id: number, opts: UdfJobOptions, collect: () => Promise<T>): JobHandle<T> {
    let result: Promise<T> | undefined;
    return {
      id,
      events: () => this.client.followEvents(id, opts.signal ? { signal: opts.signal } : {}),
      result: () =>
        (result ??= (async () => {
          await waitForSuccess(this.client, id, opts);
          return collect();
        })()),
      cancel: async () => {
        await this.client.cancel(id);
      },
    };
  }



  /** Folds encoded results to one, on the cluster: per node first (pinned there), then in rounds of REDUCE_FAN_IN. */
  private async reduceAll(sha256: string, rows: { result: JsonValue; node: string | null }[], opts: UdfJobOptions): Promise<JsonValue> {
    if (rows.length === 1) return rows[0]!.result;
    const byNode = new Map<string, JsonValue[]>();
    for (const r of rows) {
      const key = r.node ?? '';
      const values = byNode.get(key);
      if (values === undefined) byNode.set(key, [r.result]);
      else values.push(r.result);
    }
    const live = new Set((await this.client.nodes(opts.signal)).filter((n) => n.state === 'alive').map((n) => n.name));
    let partials = (
      await Promise.all(
        [...byNode].map(async ([node, values]) => {
          // The combiner: a node's results folded on that node, while it is still there.
          if (values.length === 1) return values;
          const pin = opts.node === undefined && live.has(node) ? node : undefined;
          return this.reduceRound(sha256, values, opts, pin);
        }),
      )
    ).flat();
    while (partials.length > 1) partials = await this.reduceRound(sha256, partials, opts);
    return partials[0]!;
  }

  /** One reduce job: each subtask folds up to REDUCE_FAN_IN partials; resolves to their results. */
  private async reduceRound(sha256: string, partials: JsonValue[], opts: UdfJobOptions, node?: string): Promise<JsonValue[]> {
    const groups: JsonValue[] = [];
    for (let i = 0; i < partials.length; i += REDUCE_FAN_IN) groups.push(partials.slice(i, i + REDUCE_FAN_IN));
    const job = await this.submitEncoded(sha256, groups, 'reduce', opts, node);
    await waitForSuccess(this.client, job.id, { ...(opts.signal ? { signal: opts.signal } : {}) });
    return (await jobResults(this.client, job.id)).map((r) => r.result);
  }
}

/** The strings among UDF inputs (and one level inside arrays and objects): where URLs would be. */
function* stringsIn(values: readonly unknown[]): Generator<string> {
  for (const v of values) {
    if (typeof v === 'string') yield v;
    else if (v !== null && typeof v === 'object' && !ArrayBuffer.isView(v)) {
      for (const inner of Array.isArray(v) ? v : Object.values(v)) if (typeof inner === 'string') yield inner;
    }
  }
}
