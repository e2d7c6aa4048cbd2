import { EventEmitter } from 'node:events';

import { DataboxError } from '../../errors.js';
import type { NodeMetrics, NodeStorage, NodeView, WorkerView } from '../api/schemas.js';
import { DROPPED_CODE } from '../api/schemas.js';

/** A subtask a Taskman must stop. */
export interface KillOrder {
  id: string;
  attempt: number;
}

interface NodeState {
  name: string;
  incarnation: string;
  address: string;
  state: 'alive' | 'dead';
  joinedAt: number;
  lastBeat: number;
  workers: WorkerView[];
  metrics: NodeMetrics | null;
  storage: NodeStorage | null;
  /** Kill orders waiting for the node's next heartbeat answer. */
  kills: KillOrder[];
  /** Wakes the node's held heartbeat, if one is held. */
  wake: (() => void) | undefined;
  /** Work sent in answers not yet acknowledged, by heartbeat `seq`. */
  unacked: Map<number, KillOrder[]>;
}

/** A second Taskman tried to join under a node name that is alive. */
export class NodeConflictError extends DataboxError {
  constructor(name: string, ageMs: number, missedMs: number) {
    super(
      'ERR_NODE_CONFLICT',
      `Node ${JSON.stringify(name)} is already connected (last heartbeat ${ageMs} ms ago); another Taskman may run with --node ${name}. ` +
        `A Taskman restarted under the same name may join once the old one misses its heartbeats (${missedMs} ms).`,
    );
  }
}

/** A heartbeat from a Taskman the Jobman has let go (declared dead, or unknown after a Jobman restart). */
export class NodeDroppedError extends DataboxError {
  constructor(name: string, why: string) {
    super(DROPPED_CODE, `Node ${JSON.stringify(name)} must drop its work and join again: ${why}`);
  }
}

/**
 * The Jobman's view of its Taskmen: who is alive under which incarnation, their last heartbeat, their
 * workers and counters, and the kill orders waiting for them. A watchdog declares a node dead after
 * `missedHeartbeats` heartbeat intervals of silence and emits `dead`; a held heartbeat (long poll)
 * counts as a sign of life.
 */
export class NodeTable extends EventEmitter<{ dead: [name: string]; joined: [name: string]; held: [name: string] }> {
  private readonly nodes = new Map<string, NodeState>();
  private readonly watchdog: NodeJS.Timeout;
  private readonly held = new Set<string>();

  constructor(
    readonly heartbeatMs: number,
    readonly missedHeartbeats: number,
    /**
     * How long a dead node stays listed (in `views`, so in /v1/nodes) after its last sign of life, so
     * that an operator sees what died; then it is forgotten and the table does not grow with every
     * Taskman that ever came and went. A Taskman of a forgotten node that comes back is told to join again.
     * @defaultValue 10 minutes
     */
    readonly forgetDeadAfterMs: number = 600_000,
  ) {
    super();
    // Checking ten times per interval bounds detection at (missed + 1/10) intervals.
    this.watchdog = setInterval(() => this.check(), Math.max(10, Math.floor(heartbeatMs / 10)));
    this.watchdog.unref();
  }

  get deadAfterMs(): number {
    return this.heartbeatMs * this.missedHeartbeats;
  }

  /**
   * A Taskman joins (or rejoins under a new incarnation once its old one is dead). One restarted with
   * the same name and home says which incarnation it `replaces`: if that one is still counted alive, it
   * is declared dead now (its work goes back to the deque) rather than after its missed heartbeats.
   */
  join(name: string, incarnation: string, address: string, workers: number, storage: NodeStorage | null = null, replaces?: string): void {
    const now = Date.now();
    const old = this.nodes.get(name);
    if (old !== undefined && old.state === 'alive' && old.incarnation !== incarnation) {
      if (replaces !== old.incarnation) throw new NodeConflictError(name, now - old.lastBeat, this.deadAfterMs);
      this.kill(old);
    }
    const blank: WorkerView[] = Array.from({ length: workers }, (_, slot) => ({ slot, pid: null, state: 'starting', holds: 0, heartbeatAgeMs: null }));
    this.nodes.set(name, { name, incarnation, address, state: 'alive', joinedAt: now, lastBeat: now, workers: blank, metrics: null, storage, kills: [], wake: undefined, unacked: new Map() });
    this.emit('joined', name);
  }

  /** A heartbeat: checks the incarnation, records the sign of life, the workers and the counters. */
  beat(name: string, incarnation: string, workers: WorkerView[], metrics: NodeMetrics | null): void {
    const node = this.alive(name, incarnation);
    node.lastBeat = Date.now();
    node.workers = workers;
    if (metrics !== null) node.metrics = metrics;
  }

  /** Checks that `incarnation` is the live Taskman of `name`; NodeDroppedError otherwise. */
  alive(name: string, incarnation: string): NodeState {
    const node = this.nodes.get(name);
    if (node === undefined) throw new NodeDroppedError(name, 'this Jobman does not know it (it restarted, or the node never joined)');
    if (node.incarnation !== incarnation) throw new NodeDroppedError(name, 'another Taskman joined under this name');
    if (node.state === 'dead') throw new NodeDroppedError(name, `it missed ${this.missedHeartbeats} heartbeats and was declared dead; its work went to other nodes`);
    return node;
  }

  /**
   * Settles what earlier answers carried, at heartbeat `seq` that acknowledges answer `ack`: the answer
   * to `ack` arrived; any other earlier answer did not (a Taskman sends one heartbeat at a time and
   * applies each answer before the next), so its work is returned for the deque.
   */
  settle(name: string, seq: number, ack: number): KillOrder[] {
    const node = this.nodes.get(name);
    if (node === undefined) return [];
    const lost: KillOrder[] = [];
    for (const [s, work] of node.unacked) {
      if (s >= seq) continue;
      node.unacked.delete(s);
      if (s !== ack) lost.push(...work);
    }
    return lost;
  }

  /** Records the work an answer carries, until the next heartbeat says whether it arrived. */
  sent(name: string, seq: number, work: readonly { id: string; attempt: number }[]): void {
    if (work.length === 0) return;
    this.nodes.get(name)?.unacked.set(seq, work.map((w) => ({ id: w.id, attempt: w.attempt })));
  }

  /** A Taskman leaves on purpose: it is dead at once. */
  leave(name: string, incarnation: string): void {
    const node = this.alive(name, incarnation);
    this.kill(node);
  }

  isAlive(name: string): boolean {
    return this.nodes.get(name)?.state === 'alive';
  }

  /** Queues kill orders for a node's next heartbeat answer, and wakes a held one. */
  order(name: string, kills: readonly KillOrder[]): void {
    const node = this.nodes.get(name);
    if (node === undefined || node.state !== 'alive' || kills.length === 0) return;
    node.kills.push(...kills);
    node.wake?.();
  }

  takeKills(name: string): KillOrder[] {
    const node = this.nodes.get(name);
    if (node === undefined) return [];
    const kills = node.kills;
    node.kills = [];
    return kills;
  }

  hasKills(name: string): boolean {
    return (this.nodes.get(name)?.kills.length ?? 0) > 0;
  }

  /**
   * Holds a heartbeat until new work may be there (`wakeAll`), a kill order arrives, or `ms` pass. The
   * node counts as alive meanwhile.
   */
  async hold(name: string, ms: number, signal?: AbortSignal): Promise<void> {
    const node = this.nodes.get(name);
    if (node === undefined || signal?.aborted) return;
    this.held.add(name);
    try {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          node.wake = undefined;
          resolve();
        };
        const timer = setTimeout(done, ms);
        signal?.addEventListener('abort', done, { once: true });
        node.wake = done;
        this.emit('held', name);
      });
    } finally {
      this.held.delete(name);
      node.lastBeat = Date.now();
    }
  }

  /** New work, or work back on the deque: wake every held heartbeat. */
  wakeAll(): void {
    for (const node of this.nodes.values()) node.wake?.();
  }

  views(inFlight: (name: string) => number): NodeView[] {
    const now = Date.now();
    return [...this.nodes.values()]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((n) => ({
        name: n.name,
        address: n.address,
        state: n.state,
        workers: n.workers,
        metrics: n.metrics,
        inFlight: n.state === 'alive' ? inFlight(n.name) : 0,
        joinedAt: n.joinedAt,
        lastHeartbeatAt: n.lastBeat,
        heartbeatAgeMs: this.held.has(n.name) ? 0 : now - n.lastBeat,
        storage: n.storage,
      }));
  }

  close(): void {
    clearInterval(this.watchdog);
    this.wakeAll();
  }

  private check(): void {
    const now = Date.now();
    for (const node of this.nodes.values()) {
      if (node.state === 'alive' && !this.held.has(node.name) && now - node.lastBeat > this.deadAfterMs) this.kill(node);
      else if (node.state === 'dead' && now - node.lastBeat > this.forgetDeadAfterMs) this.nodes.delete(node.name);
    }
  }

  private kill(node: NodeState): void {
    node.state = 'dead';
    node.kills = [];
    node.wake?.();
    this.emit('dead', node.name);
  }
}
