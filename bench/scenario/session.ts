/**
 * One system with N subscribers on one channel: start the server, open the
 * subscribers, measure idle memory, then run publishing steps against it.
 * Everything here is identical for every system; only the RunningSystem
 * (paths, headers, process roles) differs.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nowUs } from "../load/payload.ts";
import { publishAtRate } from "../load/publisher.ts";
import { SubscriberPool } from "../load/subscriber-pool.ts";
import {
  allProcessesCpu,
  processTree,
  sampleTree,
  watchPeakFds,
  type ProcessSample,
  type TreeSample,
} from "../lib/proc.ts";
import { sleep } from "../lib/server-process.ts";
import type { RunningSystem, SystemDefinition } from "../systems/types.ts";
import type { MemoryFigures, OpenFigures, ProcessFigures, StepFigures } from "./results.ts";

export const CHANNEL = "bench";

export interface SessionSettings {
  readonly subscribers: number;
  readonly workers: number;
  readonly openConcurrency: number;
  readonly payloadBytes: number;
  readonly publishConnections: number;
  /** Quiet time after opening before idle memory is read. */
  readonly settleMs: number;
  /** Give up on a step when no delivery arrived for this long after the last publish. */
  readonly stallMs: number;
  readonly serverCpus: string | undefined;
  readonly clientCpus: string | undefined;
}

export interface Session {
  readonly system: RunningSystem;
  readonly pool: SubscriberPool;
  readonly open: OpenFigures;
  readonly memory: MemoryFigures;
  close(): Promise<void>;
}

export class SessionError extends Error {
  readonly serverOutput: string;
  readonly open: OpenFigures | undefined;

  constructor(message: string, serverOutput: string, open?: OpenFigures) {
    super(message);
    this.serverOutput = serverOutput;
    this.open = open;
  }
}

export async function openSession(definition: SystemDefinition, settings: SessionSettings): Promise<Session> {
  const workDir = mkdtempSync(join(tmpdir(), `sse-bench-${definition.id}-`));
  const system = await definition.start({ workDir, cpus: settings.serverCpus });
  let pool: SubscriberPool | undefined;
  const close = async () => {
    await pool?.close();
    await system.stop();
    rmSync(workDir, { recursive: true, force: true });
  };
  try {
    // Warm-up on another channel: code loaded and compiled before anything is measured.
    await warmUp(system, settings);
    await sleep(300);
    const baseline = sampleTree(system.pid);
    // Descriptors can peak while connections are being set up (wrangler dev's proxy does).
    // roleOf() is asked while each process lives: one that crashes later still gets its name.
    const stopWatching = watchPeakFds(system.pid, 100, (pid) => system.roleOf(pid));
    let opened: Awaited<ReturnType<typeof SubscriberPool.open>>;
    try {
      opened = await SubscriberPool.open({
        host: system.host,
        port: system.port,
        path: system.subscribePath(CHANNEL),
        subscribers: settings.subscribers,
        workers: settings.workers,
        openConcurrency: settings.openConcurrency,
        cpus: settings.clientCpus,
      });
    } finally {
      stopWatching();
    }
    pool = opened.pool;
    const peakFds = stopWatching();
    const afterOpen = sampleTree(system.pid);
    const open: OpenFigures = {
      subscribers: settings.subscribers,
      opened: opened.open.opened,
      failed: opened.open.failed,
      allOpenMs: opened.open.allOpenMs,
      each: opened.open.each,
      serverCpuSeconds: cpuByRole(system, baseline, afterOpen),
      errors: opened.open.errors,
    };
    if (open.failed > 0) {
      const peaks = [...peakFds]
        .filter(([, fds]) => fds >= 100)
        .map(([pid, fds]) => `${system.roleOf(pid)} ${fds}`)
        .join(", ");
      throw new SessionError(
        `${open.failed} of ${settings.subscribers} subscribers failed to open (${open.errors[0] ?? "no error text"}); peak descriptors: ${peaks}`,
        system.output(),
        open,
      );
    }
    await sleep(settings.settleMs);
    const idle = sampleTree(system.pid);
    const memory: MemoryFigures = {
      baselineMB: mb(baseline.rssBytes),
      idleMB: mb(idle.rssBytes),
      perSubscriberKB: round((idle.rssBytes - baseline.rssBytes) / 1024 / settings.subscribers, 2),
      processes: idle.processes.map((p) => ({
        ...processFigures(system, p),
        peakFdsWhileOpening: peakFds.get(p.pid) ?? p.fds,
      })),
      baselineProcesses: baseline.processes.map((p) => processFigures(system, p)),
    };
    return { system, pool, open, memory, close };
  } catch (error) {
    const output = system.output();
    await close();
    if (error instanceof SessionError) throw error;
    throw new SessionError((error as Error).message, output);
  }
}

export interface StepPlan {
  readonly step: number;
  readonly events: number;
  readonly ratePerSecond: number;
  /** Stop waiting for deliveries this long after the first publish, even if they still trickle in. */
  readonly timeoutMs?: number;
}

/** Publishes one batch at a set rate and waits until every subscriber has it (or deliveries stall). */
export async function measureStep(session: Session, settings: SessionSettings, plan: StepPlan): Promise<StepFigures> {
  const { system, pool } = session;
  const n = settings.subscribers;
  pool.startStep(plan.step, plan.events);
  await pool.progress(); // every worker has reset before the first event goes out
  const serverBefore = sampleTree(system.pid);
  const clientBefore = process.cpuUsage();
  const everyoneBefore = allProcessesCpu();
  const published = await publishAtRate(
    {
      host: system.host,
      port: system.port,
      path: system.publishPath(CHANNEL),
      headers: system.publishHeaders,
      ...(system.publishEncoding ? { encoding: system.publishEncoding } : {}),
    },
    {
      step: plan.step,
      events: plan.events,
      ratePerSecond: plan.ratePerSecond,
      payloadBytes: settings.payloadBytes,
      connections: settings.publishConnections,
    },
  );
  const expected = n * published.accepted;
  let lastCount = -1;
  let lastChange = Date.now();
  const giveUpAt = Date.now() + (plan.timeoutMs ?? Infinity);
  for (;;) {
    const progress = await pool.progress();
    if (progress.received >= expected || Date.now() > giveUpAt) break;
    if (progress.received !== lastCount) {
      lastCount = progress.received;
      lastChange = Date.now();
    } else if (Date.now() - lastChange > settings.stallMs) {
      break;
    }
    await sleep(progress.received === 0 ? 20 : 50);
  }
  const serverAfter = sampleTree(system.pid);
  const clientCpu = process.cpuUsage(clientBefore);
  const others = otherProcessesCpu(
    everyoneBefore,
    allProcessesCpu(),
    new Set([process.pid, ...processTree(system.pid), ...pool.pids()]),
  );
  const report = await pool.report();
  const endUs = report.lastReceiveUs > 0 ? report.lastReceiveUs : nowUs();
  // M events at rate R span M intervals (the last one included), not M - 1.
  const wallSeconds = (endUs - published.firstSendUs) / 1e6 + 1 / plan.ratePerSecond;
  const serverCpuByRole = cpuByRole(system, serverBefore, serverAfter);
  const serverCpu = Object.values(serverCpuByRole).reduce((a, b) => a + b, 0);
  const serverCpuPercent = (serverCpu / wallSeconds) * 100;
  const clientCpuPercent = ((report.cpuSeconds + (clientCpu.user + clientCpu.system) / 1e6) / wallSeconds) * 100;
  const errors = [...published.errors, ...report.errors];
  if (published.failed > 0) errors.unshift(`publish statuses: ${JSON.stringify(published.statuses)}`);
  return {
    events: plan.events,
    ratePerSecond: plan.ratePerSecond,
    offeredDeliveriesPerSecond: Math.round(plan.ratePerSecond * n),
    expectedDeliveries: n * plan.events,
    delivered: report.received,
    lost: n * plan.events - report.received,
    duplicates: report.duplicates,
    reordered: report.reordered,
    droppedStreams: report.dropped,
    publishFailed: published.failed,
    latency: report.latency.summary(),
    deliveriesPerSecond: Math.round(report.received / Math.max(wallSeconds, 1e-6)),
    publishResponse: published.response,
    publisherMaxLagMs: published.maxScheduleLagMs,
    serverCpuPercent: round(serverCpuPercent, 1),
    serverCpuByRole: Object.fromEntries(
      Object.entries(serverCpuByRole).map(([role, s]) => [role, round((s / wallSeconds) * 100, 1)]),
    ),
    clientCpuPercent: round(clientCpuPercent, 1),
    otherCpuPercent: round((others.seconds / wallSeconds) * 100, 1),
    otherBusiest: others.busiest,
    wallSeconds: round(wallSeconds, 3),
    errors: errors.slice(0, 10),
  };
}

async function warmUp(system: RunningSystem, settings: SessionSettings): Promise<void> {
  const result = await publishAtRate(
    {
      host: system.host,
      port: system.port,
      path: system.publishPath("warmup"),
      headers: system.publishHeaders,
      ...(system.publishEncoding ? { encoding: system.publishEncoding } : {}),
    },
    { step: -1, events: 20, ratePerSecond: 200, payloadBytes: settings.payloadBytes, connections: 4 },
  );
  if (result.failed > 0)
    throw new Error(`warm-up publishes failed: ${JSON.stringify(result.statuses)} ${result.errors.join("; ")}`);
}

/** CPU used meanwhile by processes that are neither the server, nor the load generator, nor this one. */
function otherProcessesCpu(
  before: Map<number, { name: string; cpuSeconds: number }>,
  after: Map<number, { name: string; cpuSeconds: number }>,
  ours: Set<number>,
): { seconds: number; busiest: string[] } {
  const used: { name: string; seconds: number }[] = [];
  for (const [pid, now] of after) {
    if (ours.has(pid)) continue;
    const seconds = now.cpuSeconds - (before.get(pid)?.cpuSeconds ?? now.cpuSeconds);
    if (seconds > 0) used.push({ name: now.name, seconds });
  }
  used.sort((a, b) => b.seconds - a.seconds);
  return {
    seconds: used.reduce((sum, u) => sum + u.seconds, 0),
    busiest: used.slice(0, 3).map((u) => `${u.name} ${u.seconds.toFixed(2)} s`),
  };
}

function processFigures(system: RunningSystem, p: ProcessSample): ProcessFigures {
  return {
    role: system.roleOf(p.pid),
    name: p.name,
    pid: p.pid,
    rssMB: mb(p.rssBytes),
    fds: p.fds,
    sockets: p.sockets,
    threads: p.threads,
  };
}

/** CPU seconds between two samples, summed per process role (processes that started in between count from zero). */
function cpuByRole(system: RunningSystem, before: TreeSample, after: TreeSample): Record<string, number> {
  const earlier = new Map(before.processes.map((p) => [p.pid, p.cpuSeconds]));
  const byRole: Record<string, number> = {};
  for (const p of after.processes) {
    const role = system.roleOf(p.pid);
    byRole[role] = round((byRole[role] ?? 0) + p.cpuSeconds - (earlier.get(p.pid) ?? 0), 2);
  }
  return byRole;
}

const mb = (bytes: number) => round(bytes / 1024 / 1024, 1);

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}
