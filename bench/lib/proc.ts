/**
 * Reads what a server costs from /proc: resident memory, CPU time and open
 * file descriptors of a process and all its descendants (nginx's worker,
 * wrangler's workerd children), without any help from the server.
 */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

export interface ProcessSample {
  readonly pid: number;
  readonly name: string;
  readonly rssBytes: number;
  /** User + system CPU time, seconds. */
  readonly cpuSeconds: number;
  readonly fds: number;
  /** Of those descriptors, how many are sockets. */
  readonly sockets: number;
  readonly threads: number;
}

export interface TreeSample {
  readonly processes: ProcessSample[];
  readonly rssBytes: number;
  readonly cpuSeconds: number;
  readonly fds: number;
}

interface Stat {
  readonly ppid: number;
  readonly cpuTicks: number;
  readonly threads: number;
}

function readStat(pid: number): Stat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "latin1");
    // The name (field 2) may hold spaces and parentheses: fields restart after the last ')'.
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return {
      ppid: Number(fields[1]),
      cpuTicks: Number(fields[11]) + Number(fields[12]),
      threads: Number(fields[17]),
    };
  } catch {
    return null; // exited meanwhile
  }
}

/** The pid and every live descendant of it. */
export function processTree(rootPid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const stat = readStat(pid);
    if (!stat) continue;
    const siblings = children.get(stat.ppid);
    if (siblings) siblings.push(pid);
    else children.set(stat.ppid, [pid]);
  }
  const tree: number[] = [];
  const queue = [rootPid];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    tree.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

function sampleProcess(pid: number): ProcessSample | null {
  const stat = readStat(pid);
  if (!stat) return null;
  try {
    const status = readFileSync(`/proc/${pid}/status`, "latin1");
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    const name = readFileSync(`/proc/${pid}/comm`, "latin1").trim();
    let fds = 0;
    let sockets = 0;
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      fds += 1;
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith("socket:")) sockets += 1;
      } catch {
        // closed while we looked
      }
    }
    return {
      pid,
      name,
      rssBytes: rssKb * 1024,
      cpuSeconds: stat.cpuTicks / TICKS_PER_SECOND,
      fds,
      sockets,
      threads: stat.threads,
    };
  } catch {
    return null;
  }
}

/** Open descriptors of one process (cheap: no per-descriptor reads); 0 if it is gone. */
function countFds(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

/** Samples the descriptor count of every process in the tree until stopped; returns the peak of each. */
export function watchPeakFds(
  rootPid: number,
  everyMs: number,
  onSeen: (pid: number) => void = () => {},
): () => Map<number, number> {
  const peaks = new Map<number, number>();
  const sample = () => {
    for (const pid of processTree(rootPid)) {
      if (!peaks.has(pid)) onSeen(pid);
      peaks.set(pid, Math.max(peaks.get(pid) ?? 0, countFds(pid)));
    }
  };
  sample();
  const timer = setInterval(sample, everyMs);
  return () => {
    clearInterval(timer);
    sample();
    return peaks;
  };
}

export function sampleTree(rootPid: number): TreeSample {
  const processes = processTree(rootPid)
    .map(sampleProcess)
    .filter((sample): sample is ProcessSample => sample !== null);
  return {
    processes,
    rssBytes: processes.reduce((sum, p) => sum + p.rssBytes, 0),
    cpuSeconds: processes.reduce((sum, p) => sum + p.cpuSeconds, 0),
    fds: processes.reduce((sum, p) => sum + p.fds, 0),
  };
}

/** CPU seconds of every process on the machine, by pid (with its name), to see what else was running. */
export function allProcessesCpu(): Map<number, { name: string; cpuSeconds: number }> {
  const all = new Map<number, { name: string; cpuSeconds: number }>();
  for (const entry of readdirSync("/proc")) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    try {
      const text = readFileSync(`/proc/${pid}/stat`, "latin1");
      const name = text.slice(text.indexOf("(") + 1, text.lastIndexOf(")"));
      const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
      all.set(pid, { name, cpuSeconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND });
    } catch {
      // exited meanwhile
    }
  }
  return all;
}

export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "latin1").split("\0").join(" ").trim();
  } catch {
    return "";
  }
}
