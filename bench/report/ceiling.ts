/** The publish-rate ceiling experiment's results (bench/experiments/publish-ceiling.ts) and its table. */
import { fmt, table } from "./tables.ts";

export interface CeilingPoint {
  readonly round: number;
  readonly kind: "channel" | "hub";
  readonly subscribers: number;
  readonly concurrency: number;
  readonly seconds: number;
  readonly accepted: number;
  readonly failed: number;
  readonly statuses: Record<string, number>;
  readonly publishesPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** CPU of the one workerd process (Worker and objects), percent of one core. */
  readonly serverCpuPercent: number;
  /** The whole machine (200 % = both cores), for what else was running. */
  readonly machineBusyPercent: number;
  readonly delivered: number;
  readonly expectedDeliveries: number;
}

export interface CeilingResults {
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly machine: Record<string, string>;
  readonly settings: Record<string, string | number>;
  readonly points: CeilingPoint[];
}

const median = (values: number[]) => {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const KIND_LABEL = {
  hub: "Mercure hub (POST /.well-known/mercure, form)",
  channel: "One channel (POST /v1/channels/c/events)",
} as const;

/** Per (kind, subscribers, concurrency): medians over the rounds. */
export function ceilingTable(results: CeilingResults): string {
  const groups = new Map<string, CeilingPoint[]>();
  for (const p of results.points) {
    const key = `${p.kind}|${p.subscribers}|${p.concurrency}`;
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  const rows = [...groups.values()]
    .sort(
      (a, b) =>
        (a[0]!.kind === b[0]!.kind ? 0 : a[0]!.kind === "hub" ? -1 : 1) ||
        a[0]!.subscribers - b[0]!.subscribers ||
        a[0]!.concurrency - b[0]!.concurrency,
    )
    .map((points) => {
      const p = points[0]!;
      const rates = points.map((x) => x.publishesPerSecond);
      const delivered = points.reduce((s, x) => s + x.delivered, 0);
      const expected = points.reduce((s, x) => s + x.expectedDeliveries, 0);
      return [
        KIND_LABEL[p.kind],
        fmt.int(p.subscribers),
        fmt.int(p.concurrency),
        `${fmt.int(median(rates))} (${fmt.int(Math.min(...rates))}–${fmt.int(Math.max(...rates))})`,
        fmt.ms(median(points.map((x) => x.p50Ms))),
        fmt.ms(median(points.map((x) => x.p99Ms))),
        fmt.int(median(points.map((x) => x.serverCpuPercent))),
        fmt.int(median(points.map((x) => x.machineBusyPercent))),
        p.subscribers > 0 ? `${fmt.int(delivered)} / ${fmt.int(expected)}` : "",
        fmt.int(points.reduce((s, x) => s + x.failed, 0)),
      ];
    });
  return table(
    [
      "Publishing to",
      "Subscribers",
      "Concurrency",
      "Publishes / s",
      "p50 ms",
      "p99 ms",
      "workerd CPU %",
      "Machine busy %",
      "Delivered / expected",
      "Failed",
    ],
    rows,
  );
}

/** The hub's best median rate, and the channel's, with no subscriber attached. */
export function ceilingHeadline(results: CeilingResults): { hub: number; channel: number; hubWithSubscribers: number } {
  const best = (kind: "hub" | "channel", attached: boolean) => {
    const byConcurrency = new Map<number, number[]>();
    for (const p of results.points.filter((x) => x.kind === kind && x.subscribers > 0 === attached))
      byConcurrency.set(p.concurrency, [...(byConcurrency.get(p.concurrency) ?? []), p.publishesPerSecond]);
    return Math.max(0, ...[...byConcurrency.values()].map(median));
  };
  return { hub: best("hub", false), channel: best("channel", false), hubWithSubscribers: best("hub", true) };
}
