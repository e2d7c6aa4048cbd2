import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';

/**
 * The processes a worker's UDFs start, found and ended without privileges, from Linux's /proc.
 *
 * A worker leads its own session and process group (its Taskman forks it detached), so every process a
 * UDF starts is, while it runs, one of three things: a descendant of the worker (ppid chains); a member
 * of the worker's session, or of a session or group seen among its descendants, after its parent died
 * (a double fork reparents it to init but keeps its session); or, when it also made a session of its
 * own, a process whose environment still holds the subtask's marker (`DATABOX_SUBTASK=<pid>.<n>`, set in
 * the UDF thread and inherited by everything it starts). What escapes all three (a detached double fork
 * that also clears its environment) needs a cgroup to catch; see docs/security.md.
 *
 * Everything here is synchronous: a scan is a few milliseconds of small reads, and the callers (a
 * sampler every 100 ms, a subtask's end, a worker's death) want the answer before they go on.
 */

/** The environment variable that marks processes started by a worker's UDF subtask: `<worker pid>.<n>`. */
export const SUBTASK_MARKER_ENV = 'DATABOX_SUBTASK';

/** What /proc/<pid>/stat says of a process, the fields this module needs. */
export interface ProcStat {
  pid: number;
  ppid: number;
  /** Process group id. */
  pgrp: number;
  /** Session id. */
  session: number;
  /** One letter: R, S, D, Z (zombie: ended, waiting to be reaped), T... */
  state: string;
  /** When it started, in clock ticks since boot. */
  startTicks: number;
  /** Resident memory, in bytes. */
  rssBytes: number;
}

/** Linux's USER_HZ, the unit of /proc's start times: 100 on every architecture Node runs on. */
const TICKS_PER_SECOND = 100;
const PAGE_BYTES = 4096;

/** True where /proc can be read (Linux). */
export const hasProc = ((): boolean => {
  try {
    readFileSync('/proc/self/stat');
    return true;
  } catch {
    return false;
  }
})();

/** /proc/<pid>/stat, or undefined when the process is gone (or this is not Linux). */
export function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  return parseStat(text);
}

/** Parses a /proc/<pid>/stat line: `pid (comm) state ppid pgrp session ...`; comm may hold spaces and ')'. */
export function parseStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  // Fields from the state on: state(3) ppid(4) pgrp(5) session(6) ... starttime(22) vsize(23) rss(24).
  const f = text.slice(close + 2).split(' ');
  const pid = Number(text.slice(0, text.indexOf(' ')));
  const stat = { pid, ppid: Number(f[1]), pgrp: Number(f[2]), session: Number(f[3]), state: f[0] ?? '?', startTicks: Number(f[19]), rssBytes: Number(f[21]) * PAGE_BYTES };
  return Number.isInteger(stat.pid) && Number.isInteger(stat.ppid) && Number.isInteger(stat.startTicks) ? stat : undefined;
}

/** Clock ticks since boot, the unit of {@link ProcStat.startTicks}. */
export function uptimeTicks(): number {
  try {
    return Math.floor(Number(readFileSync('/proc/uptime', 'latin1').split(' ')[0]) * TICKS_PER_SECOND);
  } catch {
    return 0;
  }
}

/**
 * The direct children of `pid`, from /proc/<pid>/task/<tid>/children: each thread lists the children
 * it forked, and a UDF forks from its own thread, so all of them are read. Cost grows with the tree, not
 * with the machine, which is what a sampler every 100 ms needs.
 */
export function childrenOf(pid: number): number[] {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const found: number[] = [];
  for (const tid of tids) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'latin1');
    } catch {
      continue;
    }
    for (const word of text.split(' ')) if (word !== '' && word !== '\n') found.push(Number(word));
  }
  return found;
}

/** Every process descended from `pid` that is still there, with its stat (children before grandchildren). */
export function descendantsOf(pid: number): ProcStat[] {
  const found: ProcStat[] = [];
  const seen = new Set<number>([pid]);
  for (let todo = childrenOf(pid); todo.length > 0; ) {
    const next: number[] = [];
    for (const child of todo) {
      if (seen.has(child)) continue;
      seen.add(child);
      const stat = readStat(child);
      if (stat === undefined) continue;
      found.push(stat);
      next.push(...childrenOf(child));
    }
    todo = next;
  }
  return found;
}

/** What a process has started, as far as /proc/<pid>/stat counts it. */
export interface StartCounters {
  /**
   * Minor faults of its reaped children (cminflt): it grows whenever a child of the process ends and is
   * reaped, so a double fork's middle process, gone by the time anyone looks, still shows here.
   */
  childFaults: number;
}

/** A /proc file read again and again through one descriptor: procfs makes it afresh at offset 0. */
class ProcFile {
  private fd: number | undefined;
  private readonly buf = Buffer.alloc(4096);

  constructor(private readonly path: string) {}

  read(): string | undefined {
    try {
      this.fd ??= openSync(this.path, 'r');
      const n = readSync(this.fd, this.buf, 0, this.buf.length, 0);
      return this.buf.toString('latin1', 0, n);
    } catch {
      return undefined;
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

const selfStat = new ProcFile('/proc/self/stat');

/** This process's {@link StartCounters}: one read of an open descriptor, a few microseconds. */
export function startCounters(): StartCounters {
  const text = selfStat.read();
  if (text === undefined) return { childFaults: Number.NaN };
  // From the state on: state(3) ppid pgrp session tty_nr tpgid flags minflt cminflt(11).
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { childFaults: Number(f[8]) };
}

/**
 * Whether this process has any child now, from the `children` file of each of its threads (a process is
 * listed under the thread that forked it), each read through a descriptor kept open: well under a
 * millisecond for a worker's dozen threads, against several for opening them all afresh.
 */
export class OwnChildren {
  private readonly files = new Map<string, ProcFile>();

  any(): boolean {
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${process.pid}/task`);
    } catch {
      return true; // cannot tell: assume so
    }
    for (const [tid, file] of this.files) {
      if (!tids.includes(tid)) {
        file.close();
        this.files.delete(tid);
      }
    }
    for (const tid of tids) {
      let file = this.files.get(tid);
      if (file === undefined) this.files.set(tid, (file = new ProcFile(`/proc/${process.pid}/task/${tid}/children`)));
      const text = file.read();
      // A thread that ended since the listing has no children; one we cannot read might.
      if (text === undefined ? existsSync(`/proc/${process.pid}/task/${tid}`) : text.trim() !== '') return true;
    }
    return false;
  }
}

/** What {@link endProcesses} ends. */
export interface ProcessScope {
  /** The worker process the scope hangs from. */
  root: number;
  /** End `root` too (the worker is being replaced); else it is spared. */
  includeRoot: boolean;
  /** Sessions whose every member ends (the worker's own, and those seen among its descendants). */
  sessions: ReadonlySet<number>;
  /** Process groups whose every member ends. */
  groups: ReadonlySet<number>;
  /** A process whose environment holds `DATABOX_SUBTASK=` followed by this prefix ends. */
  markerPrefix: string;
  /** Only processes started at or after this tick (see {@link uptimeTicks}) have their environment read. */
  sinceTicks: number;
}

/** Most scans one clean-up makes: a process forking while we kill is found by the next scan. */
const MAX_ROUNDS = 10;

/**
 * Ends with SIGKILL every process in `scope`: descendants of the root, members of its sessions and
 * groups, and processes carrying its marker. Scans again until a scan finds none (a process may fork
 * between a scan and its kill), at most {@link MAX_ROUNDS} times. Never this process, its parent or init.
 * Returns the pids it signalled.
 */
export function endProcesses(scope: ProcessScope): number[] {
  if (!hasProc) return [];
  const spared = new Set([1, process.pid, process.ppid]);
  if (!scope.includeRoot) spared.add(scope.root);
  const marker = `${SUBTASK_MARKER_ENV}=${scope.markerPrefix}`;
  const killed = new Set<number>();
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const stats: ProcStat[] = [];
    for (const entry of readdirSync('/proc')) {
      if (entry.charCodeAt(0) < 48 || entry.charCodeAt(0) > 57) continue;
      const stat = readStat(Number(entry));
      if (stat !== undefined) stats.push(stat);
    }
    const children = new Map<number, number[]>();
    for (const s of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s.pid]);
    const targets = new Set<number>();
    for (let todo = [scope.root]; todo.length > 0; ) {
      const next = todo.flatMap((p) => children.get(p) ?? []);
      for (const p of next) targets.add(p);
      todo = next;
    }
    if (scope.includeRoot) targets.add(scope.root);
    for (const s of stats) {
      if (scope.sessions.has(s.session) || scope.groups.has(s.pgrp)) targets.add(s.pid);
      else if (s.startTicks >= scope.sinceTicks && !targets.has(s.pid) && hasMarker(s.pid, marker)) targets.add(s.pid);
    }
    const state = new Map(stats.map((s) => [s.pid, s.state]));
    let signalled = 0;
    for (const pid of targets) {
      // A zombie has ended already; it waits only for its parent (or init) to reap it.
      if (spared.has(pid) || state.get(pid) === 'Z') continue;
      try {
        process.kill(pid, 'SIGKILL');
        killed.add(pid);
        signalled++;
      } catch {
        // Gone meanwhile, or not ours to signal.
      }
    }
    if (signalled === 0) break;
  }
  return [...killed];
}

function hasMarker(pid: number, marker: string): boolean {
  let environ: string;
  try {
    environ = readFileSync(`/proc/${pid}/environ`, 'latin1');
  } catch {
    return false; // gone, or another user's
  }
  return environ.startsWith(marker) || environ.includes(`\0${marker}`);
}
