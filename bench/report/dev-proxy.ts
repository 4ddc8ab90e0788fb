/**
 * The wrangler dev analysis: where file descriptors, memory and CPU go per
 * process when the relay runs under `wrangler dev`, next to the same relay
 * on one workerd process at the same N.
 */
import type { BenchResults, SizeResult } from "../scenario/results.ts";
import { conciseFailure, fmt, label, table } from "./tables.ts";

export function devProxyProcessTable(results: BenchResults): string {
  const rows: string[][] = [];
  const runs = [...results.devProxy, ...results.sizes.filter((r) => r.system === "relay")].sort(
    (a, b) => a.subscribers - b.subscribers || a.system.localeCompare(b.system),
  );
  for (const run of runs) {
    if (!run.memory) {
      rows.push([
        label(run.system),
        fmt.int(run.subscribers),
        conciseFailure(run.failure),
        "–",
        "–",
        "–",
        "–",
        "–",
        "–",
      ]);
      continue;
    }
    // One row per role: wrangler runs two node processes, whose CPU is recorded per role.
    const roles = new Map<string, { pids: number[]; fds: number; before: number; sockets: number; rssMB: number }>();
    for (const p of run.memory.processes) {
      const before = run.memory.baselineProcesses.find((b) => b.pid === p.pid)?.fds ?? p.fds;
      const row = roles.get(p.role) ?? { pids: [], fds: 0, before: 0, sockets: 0, rssMB: 0 };
      row.pids.push(p.pid);
      row.fds += p.fds;
      row.before += before;
      row.sockets += p.sockets;
      row.rssMB += p.rssMB;
      roles.set(p.role, row);
    }
    for (const [role, row] of roles) {
      const openCpu = run.open?.serverCpuSeconds[role];
      const publishCpu = run.step?.serverCpuByRole[role];
      if (row.fds < 8 * row.pids.length && (openCpu ?? 0) < 0.1) continue; // helpers with nothing to do with connections
      rows.push([
        label(run.system),
        fmt.int(run.subscribers),
        `${role} (${row.pids.length === 1 ? "pid" : "pids"} ${row.pids.join(", ")})`,
        fmt.int(row.fds),
        ((row.fds - row.before) / run.subscribers).toFixed(2),
        fmt.int(row.sockets),
        fmt.one(row.rssMB),
        openCpu === undefined ? "–" : openCpu.toFixed(2),
        publishCpu === undefined ? "–" : publishCpu.toFixed(1),
      ]);
    }
  }
  return table(
    [
      "Setup",
      "N",
      "process",
      "fds",
      "fds per subscriber",
      "sockets",
      "RSS MB",
      "CPU s to open N",
      "CPU % while publishing",
    ],
    rows,
  );
}

export function devProxyLatencyTable(results: BenchResults): string {
  const runs = [...results.devProxy, ...results.sizes.filter((r) => r.system === "relay")].sort(
    (a, b) => a.subscribers - b.subscribers || a.system.localeCompare(b.system),
  );
  return table(
    [
      "Setup",
      "N",
      "open all (s)",
      "per-subscriber open p50 ms",
      "p50 ms",
      "p99 ms",
      "max ms",
      "lost",
      "server CPU %",
      "notes",
    ],
    runs.map((r: SizeResult) => [
      label(r.system),
      fmt.int(r.subscribers),
      fmt.s(r.open?.allOpenMs),
      fmt.ms(r.open?.each.p50Ms),
      fmt.ms(r.step?.latency.p50Ms),
      fmt.ms(r.step?.latency.p99Ms),
      fmt.ms(r.step?.latency.maxMs),
      r.step ? fmt.int(r.step.lost) : "–",
      fmt.one(r.step?.serverCpuPercent),
      r.ok ? "" : conciseFailure(r.failure),
    ]),
  );
}

/** Descriptors per subscriber of each workerd, for the prose: "dev proxy X, Worker Y, direct Z". */
export function fdsPerSubscriber(results: BenchResults): Record<string, number> {
  const found: Record<string, number> = {};
  for (const run of [...results.devProxy, ...results.sizes.filter((r) => r.system === "relay")]) {
    if (!run.memory) continue;
    for (const p of run.memory.processes) {
      const before = run.memory.baselineProcesses.find((b) => b.pid === p.pid);
      if (!before || !p.name.startsWith("workerd")) continue;
      const key = `${run.system}: ${p.role}`;
      found[key] = Math.max(found[key] ?? 0, Math.round(((p.fds - before.fds) / run.subscribers) * 100) / 100);
    }
  }
  return found;
}
