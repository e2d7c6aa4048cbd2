import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

/**
 * A hard cap on a worker's memory without privileges: RLIMIT_DATA, set on the worker process with
 * util-linux `prlimit` (Node has no setrlimit). Since Linux 4.7 it bounds every private writable mapping,
 * so a `Buffer.alloc` or typed array past it fails at once with a RangeError ("Array buffer allocation
 * failed") inside the UDF, instead of growing for the 100 ms until the sampler looks. V8's reservations
 * are made without write access and do not count; what counts already (a worker's VmData: about 130 MiB
 * idle with its task packages loaded, 200 MiB with a UDF thread) is measured before each job's thread
 * starts and added to the job's memoryMb.
 *
 * Only the soft limit is set, so it can be lifted again after the subtask without privileges. A UDF that
 * sets out to lift it itself can (it runs as the same user); the sampler, which adds up the resident
 * memory of the worker and everything it started, still ends it within 100 ms.
 */

const PRLIMIT = ['/usr/bin/prlimit', '/bin/prlimit'].find((p) => existsSync(p));

/** True where the cap can be set (Linux with util-linux). */
export const canCapData = PRLIMIT !== undefined && process.platform === 'linux';

const MIB = 1024 * 1024;

/** VmData of this process, in bytes (private writable memory, touched or not); 0 where unknown. */
export function dataBytes(): number {
  return statusField('VmData');
}

/** VmRSS of this process, in bytes. */
export function residentBytes(): number {
  return process.memoryUsage.rss();
}

function statusField(name: string): number {
  try {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'latin1'));
    return m === null ? 0 : Number(m[1]) * 1024;
  } catch {
    return 0;
  }
}

/** The soft RLIMIT_DATA this process started with ('unlimited' or bytes), to restore after a subtask. */
function startingSoftLimit(): string {
  try {
    const line = /^Max data size\s+(\S+)\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'latin1'));
    return line?.[1] ?? 'unlimited';
  } catch {
    return 'unlimited';
  }
}

/** The RLIMIT_DATA soft limit of this process, as a worker sets it around its UDF subtasks. */
export class DataCap {
  private readonly original = startingSoftLimit();
  /** The soft limit in force now, in bytes; undefined when it is the original. */
  private current: number | undefined;

  /** The cap in force, in bytes, or undefined. */
  get bytes(): number | undefined {
    return this.current;
  }

  /** Caps this process's data at `bytes` (rounded up to a MiB); a no-op when that cap is in force. */
  async set(bytes: number): Promise<void> {
    const rounded = Math.ceil(bytes / MIB) * MIB;
    if (this.current === rounded) return;
    await prlimit(String(rounded));
    this.current = rounded;
  }

  /** Puts back the limit the process started with. */
  async lift(): Promise<void> {
    if (this.current === undefined) return;
    await prlimit(this.original);
    this.current = undefined;
  }
}

function prlimit(soft: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (PRLIMIT === undefined) {
      reject(new Error('prlimit (util-linux) is not installed'));
      return;
    }
    // `soft:` keeps the hard limit as it is, so the soft one can be raised again later.
    execFile(PRLIMIT, ['--pid', String(process.pid), `--data=${soft}:`], { timeout: 10_000 }, (err, _out, stderr) => {
      if (err === null) resolve();
      else reject(new Error(`prlimit --data=${soft}: failed: ${stderr.trim() || err.message}`));
    });
  });
}
