/**
 * The write-up's subscription section: what a multi-channel or Mercure
 * subscription costs against a single-channel one (bench/results/subscriptions/full.json and
 * subscriptions-split/full.json).
 */
import type { BenchResults } from "../scenario/results.ts";
import { OBJECTS_ROLE, WORKER_ROLE } from "../systems/relay-split.ts";
import { UPDATES_PER_DELIVERY, subscriptionModeList } from "../systems/relay-subscriptions.ts";
import { medians, roleFigures, spreadText } from "./modes.ts";
import { fmt, table } from "./tables.ts";

/** One row per subscription kind (medians over the rounds), CPU relative to the single-channel row. */
export function subscriptionTable(results: BenchResults): string {
  const kinds = subscriptionModeList();
  const rows = medians(results).filter((m) => kinds.some((k) => k.id === m.system));
  if (rows.length === 0) return "_No subscription run in this results file._";
  const baseline = rows.find((m) => m.system === "sub-single");
  return table(
    [
      "Subscription",
      "N",
      "p50 ms",
      "p99 ms",
      "CPU µs / delivery",
      "× one channel",
      "CPU µs / hub update read",
      "KB / subscriber",
      "Lost",
      "Other CPU %",
    ],
    rows.map((m) => {
      const reads = UPDATES_PER_DELIVERY[m.system] ?? 1;
      const relative =
        baseline && m.system !== "sub-single" ? m.cpuUsPerDelivery.median / baseline.cpuUsPerDelivery.median : 1;
      return [
        `${kinds.find((k) => k.id === m.system)!.label} (\`${m.system}\`)`,
        fmt.int(m.subscribers),
        spreadText(m.p50Ms, fmt.ms),
        spreadText(m.p99Ms, fmt.ms),
        spreadText(m.cpuUsPerDelivery, fmt.one),
        `${relative.toFixed(2)}×`,
        m.system.startsWith("mercure") ? fmt.one(m.cpuUsPerDelivery.median / reads) : "",
        spreadText(m.kbPerSubscriber, fmt.one),
        fmt.int(m.lost),
        spreadText(m.otherCpuPercent, fmt.one),
      ];
    }),
  );
}

const median = (values: number[]) => {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/**
 * The split runs (`<id>-split`): the Worker's process and the objects' process each, CPU per delivery and
 * memory per subscriber (medians over the rounds), the Worker's CPU relative to the single channel's.
 */
export function subscriptionSplitTable(results: BenchResults): string {
  const kinds = subscriptionModeList();
  const ids = kinds.map((k) => `${k.id}-split`);
  const runs = (id: string) => results.sizes.filter((r) => r.system === id && r.step);
  const worker = (id: string) => median(runs(id).map((r) => roleFigures(r, WORKER_ROLE).cpuUs));
  const base = worker("sub-single-split");
  const rows = ids
    .filter((id) => runs(id).length > 0)
    .map((id) => {
      const w = worker(id);
      const reads = UPDATES_PER_DELIVERY[id] ?? 1;
      return [
        `${kinds.find((k) => `${k.id}-split` === id)!.label} (\`${id}\`)`,
        fmt.int(runs(id)[0]!.subscribers),
        fmt.one(w),
        `${(w / base).toFixed(2)}×`,
        id.startsWith("mercure") ? fmt.one(w / reads) : "",
        fmt.one(median(runs(id).map((r) => roleFigures(r, OBJECTS_ROLE).cpuUs))),
        fmt.one(median(runs(id).map((r) => roleFigures(r, WORKER_ROLE).kb))),
        fmt.one(median(runs(id).map((r) => roleFigures(r, OBJECTS_ROLE).kb))),
        fmt.int(runs(id).reduce((sum, r) => sum + (r.step?.lost ?? 0), 0)),
      ];
    });
  if (rows.length === 0) return "_No split subscription run._";
  return table(
    [
      "Subscription",
      "N",
      "Worker CPU µs / delivery",
      "× one channel",
      "Worker CPU µs / hub update read",
      "Objects CPU µs / delivery",
      "Worker KB / subscriber",
      "Objects KB / subscriber",
      "Lost",
    ],
    rows,
  );
}
