import type { JobId, JobRecord, JobStore } from '../store/index.js';
import { FINISHED_JOB_STATES, type JobView } from '../api/schemas.js';

type Listener = (view: JobView, final: boolean) => void;

/**
 * Progress of the jobs someone watches (`GET /v1/jobs/:id/events`): every `intervalMs` the Jobman reads
 * each watched job's counts (one indexed query per job) and tells its listeners when anything changed,
 * and a last time when the job finished. Polling the store rather than hooking every transition keeps
 * the hot path (a heartbeat with thousands of changes) free of per-job bookkeeping.
 */
export class JobEvents {
  /** Watched jobs → their listeners → the last state each was sent. */
  private readonly listeners = new Map<JobId, Map<Listener, string>>();
  private readonly timer: NodeJS.Timeout;
  private ticking = false;

  constructor(
    private readonly store: JobStore,
    intervalMs = 200,
  ) {
    this.timer = setInterval(() => void this.tick(), intervalMs);
    this.timer.unref();
  }

  /** Calls `listener` with the job now, then on every change; returns the unsubscribe function. */
  async subscribe(jobId: JobId, listener: Listener): Promise<() => void> {
    const view = toJobView(await this.store.getJob(jobId));
    const final = FINISHED_JOB_STATES.has(view.state);
    listener(view, final);
    if (final) return () => undefined;
    let set = this.listeners.get(jobId);
    if (set === undefined) this.listeners.set(jobId, (set = new Map()));
    set.set(listener, keyOf(view));
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(jobId);
    };
  }

  close(): void {
    clearInterval(this.timer);
    this.listeners.clear();
  }

  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      for (const [jobId, set] of this.listeners) {
        let view: JobView;
        try {
          view = toJobView(await this.store.getJob(jobId));
        } catch {
          continue; // the store is closing; the streams end with the server
        }
        const key = keyOf(view);
        const final = FINISHED_JOB_STATES.has(view.state);
        for (const [listener, last] of set) {
          if (key === last && !final) continue;
          set.set(listener, key);
          listener(view, final);
        }
        if (final) this.listeners.delete(jobId);
      }
    } finally {
      this.ticking = false;
    }
  }
}

function keyOf(view: JobView): string {
  return `${view.state}|${Object.values(view.counts).join(',')}|${view.restarts}`;
}

/** A job as the API shows it: the record without the store's internals. */
export function toJobView(job: JobRecord): JobView {
  const { firstSubtaskId: _first, inputsListed: _listed, ...view } = job;
  return view;
}
