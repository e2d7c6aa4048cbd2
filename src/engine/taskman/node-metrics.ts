import { readFile } from 'node:fs/promises';
import { cpus, freemem, totalmem } from 'node:os';

import type { NodeMetrics } from '../api/schemas.js';

/**
 * The node counters a Taskman sends with its heartbeats: CPU busy fraction since the last sample,
 * memory, network bytes (Linux `/proc/net/dev`; null elsewhere), and the resident memory of the Taskman
 * and its workers (`/proc/PID/statm`).
 */
export class NodeSampler {
  private last = cpuTimes();

  async sample(workerPids: readonly number[]): Promise<NodeMetrics> {
    const now = cpuTimes();
    const total = now.total - this.last.total;
    const cpu = total > 0 ? Math.min(1, Math.max(0, 1 - (now.idle - this.last.idle) / total)) : 0;
    this.last = now;
    const net = await networkBytes();
    let rss = process.memoryUsage.rss();
    for (const pid of workerPids) rss += await residentBytes(pid);
    return {
      cpu,
      cores: cpus().length,
      memoryTotalBytes: totalmem(),
      memoryFreeBytes: freemem(),
      networkRxBytes: net?.rx ?? null,
      networkTxBytes: net?.tx ?? null,
      rssBytes: rss,
    };
  }
}

function cpuTimes(): { idle: number; total: number } {
  let idle = 0;
  let total = 0;
  for (const c of cpus()) {
    idle += c.times.idle;
    total += c.times.user + c.times.nice + c.times.sys + c.times.idle + c.times.irq;
  }
  return { idle, total };
}

/** Sums of received and sent bytes over the non-loopback interfaces, from `/proc/net/dev`. */
export async function networkBytes(path = '/proc/net/dev'): Promise<{ rx: number; tx: number } | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return null;
  }
  let rx = 0;
  let tx = 0;
  for (const line of text.split('\n').slice(2)) {
    const m = /^\s*([^:\s]+):\s*(.*)$/.exec(line);
    if (m === null || m[1] === 'lo') continue;
    const f = m[2]!.trim().split(/\s+/).map(Number);
    // Receive: bytes packets errs drop fifo frame compressed multicast; then transmit: bytes ...
    if (f.length >= 9 && Number.isFinite(f[0]) && Number.isFinite(f[8])) {
      rx += f[0]!;
      tx += f[8]!;
    }
  }
  return { rx, tx };
}

async function residentBytes(pid: number): Promise<number> {
  try {
    const pages = Number((await readFile(`/proc/${pid}/statm`, 'utf8')).split(' ')[1]);
    return Number.isFinite(pages) ? pages * 4096 : 0;
  } catch {
    return 0; // gone, or not Linux
  }
}
