/** Markdown tables built from bench results. */
import type { BenchResults, SizeResult, SweepResult } from "../scenario/results.ts";

const LABELS: Record<string, string> = {
  relay: "Relay, hibernating (workerd)",
  "relay-direct": "Relay, direct (workerd)",
  "relay-fanout": "Relay, hibernating + fan-out (workerd)",
  nchan: "Nchan",
  node: "Node broadcaster",
  "relay-dev": "Relay (wrangler dev)",
  "relay-split": "Relay, hibernating, split (two workerd processes)",
  "relay-direct-split": "Relay, direct, split (two workerd processes)",
  "relay-fanout-split": "Relay, hibernating + fan-out, split (two workerd processes)",
};

export function label(system: string): string {
  return LABELS[system] ?? system;
}

/** Text columns (the first, and these) align left; figures align right. */
const TEXT_COLUMNS =
  /^(system|notes|verdict|process|role|target|result|figures|what|value|version|started|relay|run|where)/i;

export function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  const rule = header.map((h, i) => (i === 0 || TEXT_COLUMNS.test(h) ? "---" : "--:"));
  return [line(header), line(rule), ...rows.map(line)].join("\n");
}

export const fmt = {
  int: (value: number | undefined) =>
    value === undefined || !Number.isFinite(value) ? "–" : Math.round(value).toLocaleString("en-US"),
  ms: (value: number | undefined) =>
    value === undefined || !Number.isFinite(value)
      ? "–"
      : value < 10
        ? value.toFixed(1)
        : Math.round(value).toLocaleString("en-US"),
  s: (ms: number | undefined) => (ms === undefined || !Number.isFinite(ms) ? "–" : (ms / 1000).toFixed(2)),
  one: (value: number | undefined) => (value === undefined || !Number.isFinite(value) ? "–" : value.toFixed(1)),
};

/** The relay's modes first, then the baselines, in the order the write-up shows them. */
export const SYSTEM_ORDER = [
  "relay",
  "relay-direct",
  "relay-fanout",
  "relay-split",
  "relay-direct-split",
  "relay-fanout-split",
  "nchan",
  "node",
];

export function resultsTable(results: BenchResults): string {
  const order = SYSTEM_ORDER;
  const rows = [...results.sizes]
    .sort(
      (a, b) =>
        a.subscribers - b.subscribers ||
        order.indexOf(a.system) - order.indexOf(b.system) ||
        (a.round ?? 0) - (b.round ?? 0),
    )
    .map((r) => sizeRow(r));
  return table(
    [
      "System",
      "N",
      "events @ rate",
      "open all (s)",
      "p50 ms",
      "p99 ms",
      "max ms",
      "delivered",
      "lost",
      "deliveries/s",
      "server CPU %",
      "server CPU µs per delivery",
      "RSS idle MB",
      "KB per subscriber",
      "notes",
    ],
    rows,
  );
}

function sizeRow(r: SizeResult): string[] {
  const s = r.step;
  const notes: string[] = [];
  if (!r.ok) notes.push(conciseFailure(r.failure));
  if (s && s.otherCpuPercent > 10) notes.push(`other processes used ${fmt.one(s.otherCpuPercent)} % CPU meanwhile`);
  const note = notes.join("; ");
  return [
    r.round === undefined ? label(r.system) : `${label(r.system)}, round ${r.round}`,
    fmt.int(r.subscribers),
    s ? `${s.events} @ ${s.ratePerSecond}/s` : "–",
    fmt.s(r.open?.allOpenMs),
    fmt.ms(s?.latency.p50Ms),
    fmt.ms(s?.latency.p99Ms),
    fmt.ms(s?.latency.maxMs),
    s
      ? `${fmt.int(s.delivered)} / ${fmt.int(s.expectedDeliveries)}`
      : r.open
        ? `opened ${fmt.int(r.open.opened)} / ${fmt.int(r.subscribers)}`
        : "–",
    s ? fmt.int(s.lost) : "–",
    fmt.int(s?.deliveriesPerSecond),
    fmt.one(s?.serverCpuPercent),
    s ? fmt.one(cpuPerDeliveryUs(s)) : "–",
    fmt.one(r.memory?.idleMB),
    fmt.one(r.memory?.perSubscriberKB),
    note,
  ];
}

export function sweepSummaryTable(results: BenchResults): string {
  const systems = unique(results.sweeps.map((s) => s.system));
  const sizes = unique(results.sweeps.map((s) => s.subscribers)).sort((a, b) => a - b);
  const rows = sizes.map((n) => [
    fmt.int(n),
    ...systems.map((system) => {
      const sweep = results.sweeps.find((s) => s.system === system && s.subscribers === n);
      return sweep ? sustainableText(sweep) : "–";
    }),
  ]);
  return table(["N", ...systems.map(label)], rows);
}

export function sustainableText(sweep: SweepResult): string {
  if (sweep.points.length === 0)
    return `could not open N${sweep.failure?.includes("failed to open") ? "" : `: ${conciseFailure(sweep.failure)}`}`;
  const best = sweep.points.find(
    (p) => p.sustainable && p.offeredDeliveriesPerSecond === sweep.sustainableDeliveriesPerSecond,
  );
  const lowest = Math.min(...sweep.points.map((p) => p.offeredDeliveriesPerSecond));
  const clientBound = sweep.points.some((p) => p.reason.includes("load generator saturated")) ? " †" : "";
  return best
    ? `**${fmt.int(sweep.sustainableDeliveriesPerSecond)}**/s (p99 ${fmt.ms(best.latency.p99Ms)} ms)${clientBound}`
    : `< ${fmt.int(lowest)}/s${clientBound}`;
}

export function sweepDetailTable(sweep: SweepResult): string {
  return table(
    [
      "offered deliveries/s",
      "events/s",
      "delivered/s",
      "p50 ms",
      "p99 ms",
      "max ms",
      "lost",
      "server CPU %",
      "server CPU µs per delivery",
      "client CPU %",
      "verdict",
    ],
    sweep.points.map((p) => [
      fmt.int(p.offeredDeliveriesPerSecond),
      fmt.one(p.ratePerSecond),
      fmt.int(p.deliveriesPerSecond),
      fmt.ms(p.latency.p50Ms),
      fmt.ms(p.latency.p99Ms),
      fmt.ms(p.latency.maxMs),
      fmt.int(p.lost),
      fmt.one(p.serverCpuPercent),
      fmt.one(cpuPerDeliveryUs(p)),
      fmt.one(p.clientCpuPercent),
      p.sustainable ? `sustainable${p.reason.includes("saturated") ? " (load generator saturated)" : ""}` : p.reason,
    ]),
  );
}

/**
 * A failure message fit for a table cell: the peak-descriptor list keeps only
 * processes that held many (the one that hit the limit), and no pipes.
 */
export function conciseFailure(failure: string | undefined): string {
  const text = (failure ?? "failed").replace(/peak descriptors: (.*)$/, (_, list: string) => {
    const big = list
      .split(", ")
      .filter((entry) => Number(entry.split(" ").at(-1)) >= 1_000)
      .map((entry) => entry.replace(/ (\d+)$/, (__, n: string) => ` ${Number(n).toLocaleString("en-US")}`));
    return `peak descriptors: ${big.join(", ")}`;
  });
  return text.replaceAll("|", "/");
}

/** Server CPU time per delivered event: percent of a core ÷ deliveries per second. */
export function cpuPerDeliveryUs(step: { serverCpuPercent: number; deliveriesPerSecond: number }): number {
  return step.deliveriesPerSecond > 0 ? (step.serverCpuPercent / 100 / step.deliveriesPerSecond) * 1e6 : NaN;
}

export function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}
