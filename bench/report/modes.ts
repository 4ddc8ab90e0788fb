/**
 * The relay's delivery modes side by side: a Markdown table for the
 * write-up, the fan-out work per object per event, and a small
 * machine-readable summary (bench/results/modes.json) other documents
 * (docs/COSTS.md) can cite.
 */
import type { BenchResults, SizeResult } from "../scenario/results.ts";
import { cpuPerDeliveryUs, fmt, label, table, unique } from "./tables.ts";

/** The relay's modes first, then the baselines, in the order the write-up shows them. */
export const SYSTEM_ORDER = ["relay", "relay-direct", "relay-fanout", "nchan", "node"];

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

function bySystemThenN(results: BenchResults): SizeResult[] {
  const rank = (system: string) => (SYSTEM_ORDER.includes(system) ? SYSTEM_ORDER.indexOf(system) : 99);
  return [...results.sizes].sort((a, b) => a.subscribers - b.subscribers || rank(a.system) - rank(b.system));
}

/** p50 / p99, CPU per delivery and memory per subscriber of every system at every N. */
export function modesTable(results: BenchResults): string {
  const rows = bySystemThenN(results).map((r) => {
    const s = r.step;
    return [
      fmt.int(r.subscribers),
      label(r.system),
      s ? `${fmt.int(s.delivered)} / ${fmt.int(s.expectedDeliveries)}` : `failed: ${r.failure ?? "?"}`,
      fmt.ms(s?.latency.p50Ms),
      fmt.ms(s?.latency.p99Ms),
      s ? fmt.one(cpuPerDeliveryUs(s)) : "–",
      fmt.one(r.memory?.perSubscriberKB),
      s ? fmt.one(s.otherCpuPercent) : "–",
    ];
  });
  return table(
    [
      "N",
      "System",
      "delivered",
      "p50 ms",
      "p99 ms",
      "server CPU µs per delivery",
      "KB per subscriber",
      "other processes' CPU % meanwhile",
    ],
    rows,
  );
}

/** Per object per event in the fan-out run(s): streams written by the channel object and by each fan-out object. */
export function objectWorkTable(results: BenchResults): string {
  const runs = results.sizes.filter((r) => r.objects && r.system.startsWith("relay"));
  if (runs.length === 0) return "_No relay run reported its objects._";
  return table(
    [
      "System",
      "N",
      "streams on the channel object",
      "fan-out objects (live)",
      "streams per fan-out object",
      "channel object per event: stream writes + pushes",
      "fan-out object per event: stream writes (max)",
    ],
    bySystemThenN({ ...results, sizes: runs }).map((r) => {
      const o = r.objects!;
      const per = unique(o.fanouts.map((f) => f.subscribers)).sort((a, b) => b - a);
      return [
        label(r.system),
        fmt.int(r.subscribers),
        fmt.int(o.channelObjectStreams),
        fmt.int(o.fanouts.length),
        per.length === 0 ? "–" : per.map((n) => fmt.int(n)).join(", "),
        `${fmt.int(o.channelObjectStreams)} + ${fmt.int(o.channelObjectPushesPerEvent)}`,
        o.fanouts.length === 0 ? "–" : fmt.int(o.maxFanoutDeliveriesPerEvent),
      ];
    }),
  );
}

/** What bench/results/modes.json holds: per system and N, the figures a cost model needs. */
export function modesSummary(results: BenchResults, source: string): unknown {
  const systems: Record<string, { label: string; byN: Record<string, unknown> }> = {};
  for (const r of bySystemThenN(results)) {
    const entry = systems[r.system] ?? { label: label(r.system), byN: {} };
    systems[r.system] = entry;
    const s = r.step;
    entry.byN[String(r.subscribers)] = {
      ok: r.ok,
      ...(r.failure ? { failure: r.failure } : {}),
      ...(s
        ? {
            events: s.events,
            ratePerSecond: s.ratePerSecond,
            delivered: s.delivered,
            lost: s.lost,
            p50Ms: round(s.latency.p50Ms, 1),
            p99Ms: round(s.latency.p99Ms, 1),
            serverCpuUsPerDelivery: round(cpuPerDeliveryUs(s), 1),
            serverCpuPercent: s.serverCpuPercent,
            otherProcessesCpuPercent: s.otherCpuPercent,
          }
        : {}),
      ...(r.memory ? { kbPerSubscriber: r.memory.perSubscriberKB, idleRssMB: r.memory.idleMB } : {}),
      ...(r.objects
        ? {
            objects: {
              channelObjectStreams: r.objects.channelObjectStreams,
              fanoutObjects: r.objects.fanouts.length,
              channelObjectPushesPerEventAtMost: r.objects.channelObjectPushesPerEvent,
              maxFanoutStreamWritesPerEvent: r.objects.maxFanoutDeliveriesPerEvent,
            },
          }
        : {}),
    };
  }
  return {
    source,
    startedAt: results.startedAt,
    relayCommit: results.versions.relayCommit ?? "unknown",
    machine: { cpus: results.machine.cpus, cpuModel: results.machine.cpuModel },
    fanout: results.fanout,
    meaning: {
      serverCpuUsPerDelivery:
        "user + system CPU of the whole server process tree over the publishing step divided by deliveries; for the relay this is one workerd process running the Worker (which holds the SSE streams in hibernating mode) and every Durable Object together, so it is the sum of what production splits between edge machines (Worker) and the object's machine",
      kbPerSubscriber:
        "resident memory of the server process tree with every subscriber open and idle, minus before opening, divided by N",
      objects:
        "from the relay's stats endpoint after the step: streams on the channel object and per fan-out object; pushes per event is an upper bound (one per live fan-out object; pushes committed while one is in flight are joined)",
      caveat:
        "one run on a shared 2-core VM (server pinned to CPU 0, load generator to CPU 1); the same code varies by about ±20 % from run to run; compare systems within a run",
    },
    systems,
  };
}
