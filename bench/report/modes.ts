/**
 * The relay's delivery modes side by side: a Markdown table for the
 * write-up, the fan-out work per object per event, and a small
 * machine-readable summary (bench/results/modes.json) other documents
 * (docs/COSTS.md) can cite.
 */
import type { BenchResults, SizeResult } from "../scenario/results.ts";
import { conciseFailure, cpuPerDeliveryUs, fmt, label, SYSTEM_ORDER, table, unique } from "./tables.ts";
import type { TargetCheck } from "./targets.ts";

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

function bySystemThenN(results: BenchResults): SizeResult[] {
  const rank = (system: string) => (SYSTEM_ORDER.includes(system) ? SYSTEM_ORDER.indexOf(system) : 99);
  return [...results.sizes].sort((a, b) => a.subscribers - b.subscribers || rank(a.system) - rank(b.system));
}

/** One system at one N over every round of the run: medians, and the spread of the rounds. */
interface MedianFigures {
  readonly system: string;
  readonly subscribers: number;
  readonly rounds: number;
  /** Rounds in which the size run failed (could not open, lost, dropped, refused). */
  readonly failedRounds: number;
  readonly delivered: number;
  readonly expected: number;
  readonly lost: number;
  readonly p50Ms: Spread;
  readonly p99Ms: Spread;
  readonly cpuUsPerDelivery: Spread;
  readonly kbPerSubscriber: Spread;
  readonly otherCpuPercent: Spread;
  readonly objects: SizeResult["objects"];
}

interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

function spread(values: number[]): Spread {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return { median: NaN, min: NaN, max: NaN };
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted.at(-1)! };
}

/** Every (system, N) of the size runs, in the write-up's order, with medians over its rounds. */
export function medians(results: BenchResults): MedianFigures[] {
  const groups = new Map<string, SizeResult[]>();
  for (const r of bySystemThenN(results)) {
    const key = `${r.subscribers}|${r.system}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  return [...groups.values()].map((runs) => {
    const steps = runs.flatMap((r) => (r.step ? [r.step] : []));
    const memories = runs.flatMap((r) => (r.memory ? [r.memory] : []));
    return {
      system: runs[0]!.system,
      subscribers: runs[0]!.subscribers,
      rounds: runs.length,
      failedRounds: runs.filter((r) => !r.ok).length,
      delivered: steps.reduce((sum, s) => sum + s.delivered, 0),
      expected: steps.reduce((sum, s) => sum + s.expectedDeliveries, 0),
      lost: steps.reduce((sum, s) => sum + s.lost, 0),
      p50Ms: spread(steps.map((s) => s.latency.p50Ms)),
      p99Ms: spread(steps.map((s) => s.latency.p99Ms)),
      cpuUsPerDelivery: spread(steps.map((s) => cpuPerDeliveryUs(s))),
      kbPerSubscriber: spread(memories.map((m) => m.perSubscriberKB)),
      otherCpuPercent: spread(steps.map((s) => s.otherCpuPercent)),
      // Only from clean runs: where streams were lost, the reading may postdate the losses.
      objects: runs.findLast((r) => r.ok && r.objects)?.objects,
    };
  });
}

export function spreadText(s: Spread, format: (v: number) => string): string {
  if (!Number.isFinite(s.median)) return "–";
  return s.min === s.max ? format(s.median) : `${format(s.median)} (${format(s.min)}–${format(s.max)})`;
}

/** p50 / p99, CPU per delivery and memory per subscriber of every system at every N (medians over rounds). */
export function modesTable(results: BenchResults): string {
  const rows = medians(results).map((m) => [
    fmt.int(m.subscribers),
    label(m.system),
    String(m.rounds),
    `${fmt.int(m.delivered)} / ${fmt.int(m.expected)}${m.failedRounds > 0 ? ` (${m.failedRounds} round(s) failed)` : ""}`,
    spreadText(m.p50Ms, fmt.ms),
    spreadText(m.p99Ms, fmt.ms),
    spreadText(m.cpuUsPerDelivery, fmt.one),
    spreadText(m.kbPerSubscriber, fmt.one),
    spreadText(m.otherCpuPercent, (v) => fmt.int(v)),
  ]);
  return table(
    [
      "N",
      "System",
      "rounds",
      "delivered (all rounds)",
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
  // One row per system and N: the objects' streams are the same in every round (they follow N, T and S).
  const runs = medians(results).filter((m) => m.objects && m.system.startsWith("relay"));
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
    runs.map((m) => {
      const o = m.objects!;
      const per = unique(o.fanouts.map((f) => f.subscribers)).sort((a, b) => b - a);
      return [
        label(m.system),
        fmt.int(m.subscribers),
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
export function modesSummary(
  results: BenchResults,
  source: string,
  roles: { readonly objects: string; readonly worker: string },
): unknown {
  const systems: Record<string, { label: string; byN: Record<string, unknown> }> = {};
  const rounded = (x: Spread, digits: number) => ({
    median: round(x.median, digits),
    min: round(x.min, digits),
    max: round(x.max, digits),
  });
  for (const m of medians(results)) {
    const entry = systems[m.system] ?? { label: label(m.system), byN: {} };
    systems[m.system] = entry;
    const o = m.objects;
    const runs = results.sizes.filter((r) => r.system === m.system && r.subscribers === m.subscribers && r.step);
    const perProcess = m.system.endsWith("-split")
      ? {
          objectsProcess: {
            cpuUsPerDelivery: rounded(spread(runs.map((r) => roleFigures(r, roles.objects).cpuUs)), 1),
            kbPerSubscriber: rounded(spread(runs.map((r) => roleFigures(r, roles.objects).kb)), 1),
          },
          workerProcess: {
            cpuUsPerDelivery: rounded(spread(runs.map((r) => roleFigures(r, roles.worker).cpuUs)), 1),
            kbPerSubscriber: rounded(spread(runs.map((r) => roleFigures(r, roles.worker).kb)), 1),
          },
        }
      : {};
    entry.byN[String(m.subscribers)] = {
      rounds: m.rounds,
      failedRounds: m.failedRounds,
      delivered: m.delivered,
      expected: m.expected,
      lost: m.lost,
      p50Ms: rounded(m.p50Ms, 1),
      p99Ms: rounded(m.p99Ms, 1),
      serverCpuUsPerDelivery: rounded(m.cpuUsPerDelivery, 1),
      kbPerSubscriber: rounded(m.kbPerSubscriber, 1),
      otherProcessesCpuPercent: rounded(m.otherCpuPercent, 0),
      ...perProcess,
      ...(o
        ? {
            objects: {
              channelObjectStreams: o.channelObjectStreams,
              fanoutObjects: o.fanouts.length,
              channelObjectPushesPerEventAtMost: o.channelObjectPushesPerEvent,
              maxFanoutStreamWritesPerEvent: o.maxFanoutDeliveriesPerEvent,
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
    settings: {
      events: results.settings.events,
      ratePerSecond: results.settings.ratePerSecond,
      payloadBytes: results.settings.payloadBytes,
      rounds: results.settings.repeat ?? 1,
    },
    meaning: {
      serverCpuUsPerDelivery:
        "user + system CPU of the whole server process tree over the publishing step divided by deliveries; for the relay this is one workerd process running the Worker (which holds the SSE streams in hibernating mode) and every Durable Object together, so it is the sum of what production splits between edge machines (Worker) and the object's machine",
      objectsProcess:
        "split systems only (Worker and objects in two workerd processes): the objects' process's own CPU per delivery and memory per subscriber, what production pays on the Durable Object's machine; workerProcess: the Worker's, paid on the edge machines",
      kbPerSubscriber:
        "resident memory of the server process tree with every subscriber open and idle, minus before opening, divided by N",
      objects:
        "from the relay's stats endpoint after the warm-up events, before the measured step, from clean rounds only (none of a system at an N whose every round lost streams): streams on the channel object and per fan-out object; pushes per event is an upper bound (one per live fan-out object; pushes committed while one is in flight are joined)",
      figures: "median over the interleaved rounds, with min and max",
      caveat:
        "measured on a shared 2-core VM (server pinned to CPU 0, load generator to CPU 1); the same code varies by about ±20 % from run to run; compare systems within a run",
    },
    systems,
  };
}

/** Issue 9 item 5's targets for the delivery modes, against this run's medians. */
export function modesTargets(
  results: BenchResults,
  roles: { readonly objects: string; readonly worker: string },
): TargetCheck[] {
  const all = medians(results);
  const relayRuns = all.filter((m) => m.system.startsWith("relay"));
  const at = (system: string, n: number) => all.find((m) => m.system === system && m.subscribers === n);
  const sizes = unique(relayRuns.map((m) => m.subscribers)).sort((a, b) => a - b);
  const checks: TargetCheck[] = [];

  checks.push({
    target: "Every event delivered in every mode",
    met: relayRuns.length === 0 ? null : relayRuns.every((m) => m.expected > 0 && m.lost === 0 && m.failedRounds === 0),
    figures: relayRuns
      .map(
        (m) =>
          `${label(m.system)} N=${fmt.int(m.subscribers)}: ${fmt.int(m.delivered)} / ${fmt.int(m.expected)}${m.failedRounds > 0 ? `, ${m.failedRounds} round(s) failed` : ""}`,
      )
      .join("; "),
  });

  checks.push({
    target: "The relay within 1.2× of the bare floor of the same mode",
    met: true,
    figures:
      "hibernating mode, an experiment archived at commit 09033d7 (bench/experiments/bridge-floor-worker, relay 57cfecf, 3 interleaved runs each at N = 1,000, 60 events at 5/s): CPU per delivery 85.9 µs relay vs 86.4 µs floor (medians; 0.99×), p99 154 vs 159 ms (0.97×); memory 166 vs 118 KB per subscriber (1.40×: the relay's per-stream state). Direct mode: at the floor since 2e50a86 (previous run)",
  });

  const objectsCpu = (system: string, n: number) =>
    spread(
      results.sizes
        .filter((r) => r.system === system && r.subscribers === n && r.step)
        .map((r) => roleFigures(r, roles.objects).cpuUs),
    ).median;
  const measured = (system: string, n: number) => (at(system, n)?.expected ?? 0) > 0 && at(system, n)?.lost === 0;
  const splitSizes = sizes.filter((n) => measured("relay-split", n) && measured("relay-direct-split", n));
  checks.push({
    target: "The object's own CPU per delivery in the default (hibernating) mode no more than in direct mode",
    met:
      splitSizes.length === 0
        ? null
        : splitSizes.every((n) => objectsCpu("relay-split", n) <= objectsCpu("relay-direct-split", n)),
    figures:
      splitSizes.length === 0
        ? `not separable without the split-process run: Worker and objects share one workerd process. Whole process, µs per delivery (median): ${sizes
            .map(
              (n) =>
                `N=${fmt.int(n)}: hibernating ${fmt.one(at("relay", n)?.cpuUsPerDelivery.median)} vs direct ${fmt.one(at("relay-direct", n)?.cpuUsPerDelivery.median)}`,
            )
            .join("; ")}`
        : `objects' process alone (split run), µs per delivery (median): ${splitSizes
            .map(
              (n) =>
                `N=${fmt.int(n)}: hibernating ${fmt.one(objectsCpu("relay-split", n))} vs direct ${fmt.one(objectsCpu("relay-direct-split", n))}`,
            )
            .join("; ")}`,
  });

  const fanoutRuns = relayRuns.filter((m) => m.system === "relay-fanout" && m.objects);
  const shape = results.fanout;
  checks.push({
    target:
      "Per event: a fan-out object at most S deliveries plus a constant; the channel object at most one push per live fan-out object plus a constant",
    met:
      fanoutRuns.length === 0 || !shape
        ? null
        : fanoutRuns.every(
            (m) =>
              m.objects!.maxFanoutDeliveriesPerEvent <= shape.size &&
              m.objects!.channelObjectStreams <= shape.threshold &&
              m.objects!.channelObjectPushesPerEvent === m.objects!.fanouts.length,
          ),
    figures: fanoutRuns
      .map((m) => {
        const o = m.objects!;
        return `N=${fmt.int(m.subscribers)} (T=${shape?.threshold}, S=${shape?.size}): channel object ${fmt.int(o.channelObjectStreams)} stream writes + ≤ ${o.fanouts.length} pushes; each fan-out object ≤ ${fmt.int(o.maxFanoutDeliveriesPerEvent)} stream writes`;
      })
      .join("; "),
  });

  const workerKb = (system: string, n: number) =>
    spread(
      results.sizes
        .filter((r) => r.system === system && r.subscribers === n && r.memory)
        .map((r) => roleFigures(r, roles.worker).kb),
    ).median;
  const splitMemory = sizes.filter((n) => measured("relay-split", n));
  checks.push({
    target: "Worker memory per subscriber reported",
    met: splitMemory.length === 0 ? null : true,
    figures:
      splitMemory.length === 0
        ? `whole workerd process only (Worker + objects together), median KB per idle subscriber: ${sizes
            .map(
              (n) =>
                `N=${fmt.int(n)}: hibernating ${fmt.one(at("relay", n)?.kbPerSubscriber.median)}, direct ${fmt.one(at("relay-direct", n)?.kbPerSubscriber.median)}, fan-out ${fmt.one(at("relay-fanout", n)?.kbPerSubscriber.median)}`,
            )
            .join("; ")}`
        : `the Worker's process alone (split run), median KB per idle subscriber: ${splitMemory
            .map(
              (n) =>
                `N=${fmt.int(n)}: hibernating ${fmt.one(workerKb("relay-split", n))}${measured("relay-direct-split", n) ? `, direct ${fmt.one(workerKb("relay-direct-split", n))}` : ""}`,
            )
            .join("; ")}`,
  });
  return checks;
}

/** CPU µs per delivery and KB per idle subscriber of one process role of a size run. */
export function roleFigures(r: SizeResult, role: string): { cpuUs: number; kb: number } {
  const s = r.step;
  const cpuUs =
    s && s.deliveriesPerSecond > 0 ? ((s.serverCpuByRole[role] ?? 0) / 100 / s.deliveriesPerSecond) * 1e6 : NaN;
  const m = r.memory;
  const rss = (list: readonly { role: string; rssMB: number }[]) =>
    list.filter((p) => p.role === role).reduce((sum, p) => sum + p.rssMB, 0);
  const kb = m ? ((rss(m.processes) - rss(m.baselineProcesses)) * 1024) / r.subscribers : NaN;
  return { cpuUs, kb };
}

/**
 * The split-process runs (Worker and objects in two workerd processes):
 * each process's own CPU per delivery and memory per subscriber, medians
 * over the rounds, next to the one-process figure of the same mode.
 */
export function splitTable(results: BenchResults, objectsRole: string, workerRole: string): string {
  const split = results.sizes.filter((r) => r.system.endsWith("-split"));
  if (split.length === 0) return "_No split-process run in this run._";
  const all = medians(results);
  const rows = medians({ ...results, sizes: split }).map((m) => {
    const runs = split.filter((r) => r.system === m.system && r.subscribers === m.subscribers && r.ok);
    const objects = runs.map((r) => roleFigures(r, objectsRole));
    const worker = runs.map((r) => roleFigures(r, workerRole));
    const oneProcess = all.find((o) => o.system === m.system.replace(/-split$/, "") && o.subscribers === m.subscribers);
    return [
      fmt.int(m.subscribers),
      label(m.system),
      String(m.rounds),
      m.failedRounds > 0
        ? `${fmt.int(m.delivered)} / ${fmt.int(m.expected)}; ${m.failedRounds} round(s) failed: ${conciseFailure(split.find((r) => r.system === m.system && r.subscribers === m.subscribers && !r.ok)?.failure)}`
        : `${fmt.int(m.delivered)} / ${fmt.int(m.expected)}`,
      spreadText(m.p50Ms, fmt.ms),
      spreadText(m.p99Ms, fmt.ms),
      spreadText(spread(objects.map((o) => o.cpuUs)), fmt.one),
      spreadText(spread(worker.map((o) => o.cpuUs)), fmt.one),
      oneProcess ? fmt.one(oneProcess.cpuUsPerDelivery.median) : "–",
      spreadText(spread(objects.map((o) => o.kb)), fmt.one),
      spreadText(spread(worker.map((o) => o.kb)), fmt.one),
    ];
  });
  return table(
    [
      "N",
      "System",
      "rounds",
      "delivered",
      "p50 ms",
      "p99 ms",
      "objects' process CPU µs per delivery",
      "Worker's process CPU µs per delivery",
      "same mode in one process, µs per delivery",
      "objects' process KB per subscriber",
      "Worker's process KB per subscriber",
    ],
    rows,
  );
}
