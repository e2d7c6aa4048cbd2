import { randomUUID } from 'node:crypto';

import { z } from 'zod';

import { heartbeatReplySchema, joinReplySchema, type Heartbeat, type HeartbeatReply, type NodeMetrics, type WorkerView } from '../../../src/engine/api/schemas.js';
import type { WorkSubtask } from '../../../src/engine/api/worker-protocol.js';

/** What the fake workers make of one subtask: a result, or an error. */
export type Outcome = { ok: true; result: number | string | null } | { ok: false; message: string };

/** Succeeds with the input index times ten. */
export const succeedTimesTen = (w: WorkSubtask): Outcome => ({ ok: true, result: w.index * 10 });

export interface LinkDriverOptions {
  /** Node name. @defaultValue `node-` and a random suffix */
  name?: string;
  /** Worker slots it announces. @defaultValue 2 */
  workers?: number;
}

/**
 * Plays a Taskman over the real HTTP link (join, heartbeats with state changes) so that tests of the
 * Jobman's client can make jobs progress without Taskman or worker processes.
 */
export class LinkDriver {
  /** Kill orders received in heartbeat answers, in order. */
  readonly kills: HeartbeatReply['kill'] = [];
  /** Heartbeats sent, and the last whose answer arrived (the Jobman takes back work in lost answers). */
  private seq = 0;
  private ack = 0;

  private constructor(
    readonly url: string,
    private readonly token: string,
    readonly name: string,
    /** The random id of this Taskman process, repeated in every heartbeat. */
    readonly incarnation: string,
    readonly workers: number,
    /** The Jobman's heartbeat interval, from the join answer. */
    readonly heartbeatMs: number,
  ) {}

  /** Joins `jobman` as a node, with that node's own token (as a real Taskman would). */
  static async join(jobman: { url: string; nodeToken(node: string): string }, options: LinkDriverOptions = {}): Promise<LinkDriver> {
    const name = options.name ?? `node-${randomUUID().slice(0, 8)}`;
    const { url } = jobman;
    const token = jobman.nodeToken(name);
    const workers = options.workers ?? 2;
    const incarnation = randomUUID();
    const reply = await post(url, token, `/v1/nodes/${name}/join`, { incarnation, workers, startedAt: Date.now() }, joinReplySchema);
    return new LinkDriver(url, token, name, incarnation, workers, reply.heartbeatMs);
  }

  /** One heartbeat. With `want` > 0, no changes and no work, the Jobman holds it up to `heartbeatMs`. */
  async beat(body: { want?: number; changes?: Heartbeat['changes'] } = {}, signal?: AbortSignal): Promise<HeartbeatReply> {
    const seq = ++this.seq;
    const reply = await post(
      this.url,
      this.token,
      `/v1/nodes/${this.name}/heartbeat`,
      { incarnation: this.incarnation, seq, ack: this.ack, want: body.want ?? 0, changes: body.changes ?? [], workers: this.workerViews(), metrics: FAKE_METRICS },
      heartbeatReplySchema,
      signal,
    );
    this.ack = seq;
    this.kills.push(...reply.kill);
    return reply;
  }

  /** Asks for up to `want` subtasks. */
  async take(want: number, signal?: AbortSignal): Promise<WorkSubtask[]> {
    return (await this.beat({ want }, signal)).work;
  }

  /** Reports `work` as running on worker 0. */
  async start(work: readonly WorkSubtask[]): Promise<HeartbeatReply> {
    return this.beat({ changes: work.map((w) => ({ id: w.id, attempt: w.attempt, to: 'running' as const, worker: '0' })) });
  }

  /** Reports `work` as run to the end, `outcome` deciding each subtask's fate; asks for `want` more. */
  async finish(work: readonly WorkSubtask[], outcome: (w: WorkSubtask) => Outcome = succeedTimesTen, want = 0, signal?: AbortSignal): Promise<HeartbeatReply> {
    const changes: Heartbeat['changes'] = work.flatMap((w) => {
      const o = outcome(w);
      const end = o.ok ? { id: w.id, attempt: w.attempt, to: 'succeeded' as const, result: o.result } : { id: w.id, attempt: w.attempt, to: 'failed' as const, error: { message: o.message } };
      return [{ id: w.id, attempt: w.attempt, to: 'running' as const, worker: '0' }, end];
    });
    return this.beat({ want, changes }, signal);
  }

  /**
   * Runs everything the Jobman hands out, `batch` subtasks per heartbeat, until `stop()`. Bounded: it
   * gives up after `maxBeats` heartbeats or `deadlineMs`. `stop()` ends a held heartbeat at once.
   */
  serve(options: { batch?: number; outcome?: (w: WorkSubtask) => Outcome; maxBeats?: number; deadlineMs?: number } = {}): { stop: () => Promise<void>; done: Promise<void> } {
    const batch = options.batch ?? 10;
    const maxBeats = options.maxBeats ?? 10_000;
    const deadline = Date.now() + (options.deadlineMs ?? 30_000);
    const stopping = new AbortController();
    const { signal } = stopping;
    const done = (async () => {
      let work: WorkSubtask[] = [];
      for (let beats = 0; !signal.aborted && beats < maxBeats && Date.now() < deadline; beats++) {
        work = work.length > 0 ? (await this.finish(work, options.outcome, batch, signal)).work : await this.take(batch, signal);
      }
    })().catch((err: unknown) => {
      if (!signal.aborted) throw err;
    });
    return {
      done,
      stop: async () => {
        stopping.abort();
        await done;
      },
    };
  }

  /** Leaves on purpose: the node is dead at once and its work goes back to the deque. */
  async leave(): Promise<void> {
    await post(this.url, this.token, `/v1/nodes/${this.name}/leave`, { incarnation: this.incarnation }, z.unknown(), undefined, true);
  }

  private workerViews(): WorkerView[] {
    return Array.from({ length: this.workers }, (_, slot) => ({ slot, pid: 1000 + slot, state: slot === 0 ? 'busy' : 'idle', holds: slot === 0 ? 1 : 0, heartbeatAgeMs: 5 }));
  }

}

async function post<S extends z.ZodType>(url: string, token: string, path: string, body: unknown, schema: S, signal?: AbortSignal, empty = false): Promise<z.output<S>> {
  const timeout = AbortSignal.timeout(10_000);
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`POST ${path} answered ${res.status}: ${text}`);
  return schema.parse(empty ? undefined : JSON.parse(text));
}

/** Counters a node reports: 2 cores, 25 % busy, 3 of 8 GiB used. */
export const FAKE_METRICS: NodeMetrics = {
  cpu: 0.25,
  cores: 2,
  memoryTotalBytes: 8 * 2 ** 30,
  memoryFreeBytes: 5 * 2 ** 30,
  networkRxBytes: null,
  networkTxBytes: null,
  rssBytes: 100 * 2 ** 20,
};

/**
 * A driven node `node-a` that runs the Jobman's work in the background (`serve`) until the test's
 * cleanups run: they stop the loop, then leave.
 */
export async function servedNode(jobman: { url: string; nodeToken(node: string): string }, cleanups: (() => unknown)[], options: Parameters<LinkDriver['serve']>[0] = {}): Promise<LinkDriver> {
  const d = await LinkDriver.join(jobman, { name: 'node-a' });
  cleanups.push(() => d.leave().catch(() => undefined));
  const s = d.serve(options);
  cleanups.push(() => s.stop());
  return d;
}
