/**
 * Whole-machine CPU use from /proc/stat, so a result can say how much of
 * the machine something other than the bench was using at the time (on a
 * 2-core box, a concurrent test run changes every figure).
 */
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { sleep } from "./server-process.ts";

interface CpuTimes {
  readonly busy: number;
  readonly total: number;
}

function readCpuTimes(): CpuTimes {
  const line = readFileSync("/proc/stat", "latin1").split("\n")[0]!;
  const fields = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0); // idle + iowait
  const total = fields.reduce((sum, value) => sum + value, 0);
  return { busy: total - idle, total };
}

/** Busy CPU between two readings, in percent of one core (200 % = both cores of a 2-core machine). */
function busyPercent(before: CpuTimes, after: CpuTimes): number {
  const total = after.total - before.total;
  if (total <= 0) return 0;
  return ((after.busy - before.busy) / total) * 100 * cpus().length;
}

/**
 * Waits (up to `maxWaitMs`) for a second in which the machine is nearly
 * idle, so a run does not start while another job hogs the cores. Returns
 * the busy percentage of the last second looked at.
 */
export async function waitForQuiet(maxBusyPercent: number, maxWaitMs: number): Promise<number> {
  const deadline = Date.now() + maxWaitMs;
  for (;;) {
    const before = readCpuTimes();
    await sleep(1_000);
    const busy = busyPercent(before, readCpuTimes());
    if (busy <= maxBusyPercent || Date.now() > deadline) return Math.round(busy);
  }
}
