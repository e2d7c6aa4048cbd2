import type { Command } from 'commander';

import type { NodeView } from '../../engine/index.js';
import { closeSharedConnections } from '../../storage/index.js';
import type { CliContext } from '../context.js';
import { openJobman, withJobman, type JobmanFlags } from '../jobman.js';
import { formatBytes, formatTable } from '../view.js';

/** `databox nodes`: the Taskmen that joined the Jobman, their workers and counters. */
function defineNodes(command: Command, { signal, io }: CliContext): void {
  withJobman(command)
    .option('--json', 'print {"nodes":[...]}')
    .action(async (flags: { json?: boolean } & JobmanFlags) => {
      const nodes = await (await openJobman(flags, io.stderr)).nodes(signal);
      io.stdout.write(flags.json ? `${JSON.stringify({ nodes })}\n` : formatNodes(nodes));
    });
}

export const commands = { nodes: defineNodes };
export const close = closeSharedConnections;

export function formatNodes(nodes: readonly NodeView[]): string {
  if (nodes.length === 0) return 'no nodes have joined this Jobman\n';
  return formatTable(
    ['NODE', 'ADDRESS', 'STATE', 'WORKERS', 'CPU', 'MEMORY', 'HEARTBEAT'],
    nodes.map((n) => [
      n.name,
      n.address,
      n.state,
      n.workers.map((w) => `${w.pid ?? '-'}:${w.state}`).join(' ') || '-',
      n.metrics === null ? '-' : `${Math.round(n.metrics.cpu * 100)}%`,
      n.metrics === null ? '-' : `${formatBytes(n.metrics.memoryTotalBytes - n.metrics.memoryFreeBytes)}/${formatBytes(n.metrics.memoryTotalBytes)}`,
      `${(n.heartbeatAgeMs / 1000).toFixed(1)} s ago`,
    ]),
  );
}
