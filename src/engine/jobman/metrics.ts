import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';

import type { JobStore } from '../store/index.js';
import { SUBTASK_STATES } from '../state-machine.js';
import type { NodeTable } from './nodes.js';
import type { App } from './routes.js';
import type { Scheduler } from './scheduler.js';

/**
 * `GET /metrics` in Prometheus' text format (prom-client): queue depth, subtasks by state, what the
 * scheduler holds in memory, and per node its liveness, heartbeat age, CPU, memory, network counters and
 * workers, plus the Jobman process' own (`databox_jobman_process_*`). Values are read at scrape time.
 */
export function registerMetrics(app: App, ctx: { scheduler: Scheduler; store: JobStore; nodes: NodeTable }): void {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'databox_jobman_' });
  const { scheduler, store, nodes } = ctx;

  const subtasks = new Gauge({ name: 'databox_subtasks', help: 'Subtasks in the job store, by state', labelNames: ['state'], registers: [registry] });
  const queueDepth = new Gauge({ name: 'databox_queue_depth', help: 'Subtasks queued, waiting for a Taskman', registers: [registry] });
  const window = new Gauge({ name: 'databox_scheduler_window_subtasks', help: 'Queued subtasks the Jobman holds in memory (the window)', registers: [registry] });
  const inFlight = new Gauge({ name: 'databox_scheduler_in_flight_subtasks', help: 'Subtasks dispatched to or running on Taskmen', registers: [registry] });
  const nodeLabels = ['node'] as const;
  const up = new Gauge({ name: 'databox_node_up', help: '1 while the node’s Taskman is alive, 0 once declared dead', labelNames: nodeLabels, registers: [registry] });
  const age = new Gauge({ name: 'databox_node_heartbeat_age_seconds', help: 'Seconds since the node’s last heartbeat', labelNames: nodeLabels, registers: [registry] });
  const cpu = new Gauge({ name: 'databox_node_cpu_ratio', help: 'Busy fraction of the node’s cores over the last heartbeat interval', labelNames: nodeLabels, registers: [registry] });
  const memory = new Gauge({ name: 'databox_node_memory_bytes', help: 'Node memory: total, free, and resident in the Taskman and its workers (rss)', labelNames: ['node', 'kind'], registers: [registry] });
  const network = new Gauge({ name: 'databox_node_network_bytes', help: 'Bytes through the node’s non-loopback interfaces since boot', labelNames: ['node', 'direction'], registers: [registry] });
  const workers = new Gauge({ name: 'databox_node_workers', help: 'Worker processes by state', labelNames: ['node', 'state'], registers: [registry] });
  const nodeInFlight = new Gauge({ name: 'databox_node_in_flight_subtasks', help: 'Subtasks dispatched to or running on the node', labelNames: nodeLabels, registers: [registry] });

  app.get('/metrics', { schema: { summary: 'Prometheus metrics', hide: true } }, async (_req, reply) => {
    const counts = await store.countSubtasks();
    for (const s of SUBTASK_STATES) subtasks.set({ state: s }, counts[s]);
    queueDepth.set(counts.queued);
    const stats = scheduler.stats();
    window.set(stats.queued);
    inFlight.set(stats.inFlight);
    for (const g of [up, age, cpu, memory, network, workers, nodeInFlight]) g.reset();
    for (const n of nodes.views((name) => scheduler.inFlightOn(name))) {
      const node = n.name;
      up.set({ node }, n.state === 'alive' ? 1 : 0);
      age.set({ node }, n.heartbeatAgeMs / 1000);
      nodeInFlight.set({ node }, n.inFlight);
      for (const state of ['starting', 'idle', 'busy'] as const) workers.set({ node, state }, n.workers.filter((w) => w.state === state).length);
      const m = n.metrics;
      if (m === null) continue;
      cpu.set({ node }, m.cpu);
      memory.set({ node, kind: 'total' }, m.memoryTotalBytes);
      memory.set({ node, kind: 'free' }, m.memoryFreeBytes);
      memory.set({ node, kind: 'rss' }, m.rssBytes);
      if (m.networkRxBytes !== null) network.set({ node, direction: 'rx' }, m.networkRxBytes);
      if (m.networkTxBytes !== null) network.set({ node, direction: 'tx' }, m.networkTxBytes);
    }
    return reply.header('content-type', registry.contentType).send(await registry.metrics());
  });
}
