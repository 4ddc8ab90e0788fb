/** The acceptance targets, checked against one run's figures. */
import type { BenchResults, SizeResult } from "../scenario/results.ts";
import { conciseFailure, fmt, sustainableText, table } from "./tables.ts";

export interface TargetCheck {
  readonly target: string;
  readonly met: boolean | null;
  readonly figures: string;
}

export function checkTargets(results: BenchResults): TargetCheck[] {
  return [latencyTarget(results), throughputTarget(results), tenThousandTarget(results), memoryTarget(results)];
}

export function targetsTable(checks: TargetCheck[]): string {
  return table(
    ["Target", "Result", "Figures (this run)"],
    checks.map((c) => [c.target, c.met === null ? "not measured" : c.met ? "**met**" : "**missed**", c.figures]),
  );
}

function size(results: BenchResults, system: string, n: number): SizeResult | undefined {
  return results.sizes.find((r) => r.system === system && r.subscribers === n);
}

function latencyTarget(results: BenchResults): TargetCheck {
  const target = "At 1,000 subscribers: relay p99 ≤ 2× Nchan's, every event delivered";
  const relay = size(results, "relay", 1_000)?.step;
  const nchan = size(results, "nchan", 1_000)?.step;
  if (!relay || !nchan) return { target, met: null, figures: "no N=1,000 run of both" };
  const ratio = relay.latency.p99Ms / nchan.latency.p99Ms;
  return {
    target,
    met: ratio <= 2 && relay.lost === 0,
    figures: `relay p99 ${fmt.ms(relay.latency.p99Ms)} ms vs Nchan ${fmt.ms(nchan.latency.p99Ms)} ms (${ratio.toFixed(1)}×); relay delivered ${fmt.int(relay.delivered)} / ${fmt.int(relay.expectedDeliveries)}`,
  };
}

function throughputTarget(results: BenchResults): TargetCheck {
  const target = "Relay sustainable deliveries/s ≥ the Node broadcaster's";
  const pairs = results.sweeps
    .filter((s) => s.system === "relay")
    .map((relay) => ({
      relay,
      node: results.sweeps.find((s) => s.system === "node" && s.subscribers === relay.subscribers),
    }))
    .filter((pair) => pair.node !== undefined);
  if (pairs.length === 0) return { target, met: null, figures: "no sweep of both" };
  return {
    target,
    met: pairs.every((p) => p.relay.sustainableDeliveriesPerSecond >= p.node!.sustainableDeliveriesPerSecond),
    figures: pairs
      .map((p) => {
        const relay =
          p.relay.points.length === 0
            ? "could not open N"
            : sustainableText(p.relay)
                .replaceAll("**", "")
                .replace(/ \(p99.*$/, "");
        return `N=${fmt.int(p.relay.subscribers)}: relay ${relay} vs Node ${fmt.int(p.node!.sustainableDeliveriesPerSecond)}/s`;
      })
      .concat(
        results.sweeps
          .filter(
            (s) =>
              s.system === "relay" &&
              !results.sweeps.some((o) => o.system === "node" && o.subscribers === s.subscribers),
          )
          .map(
            (s) =>
              `relay at N=${fmt.int(s.subscribers)}: ${sustainableText(s)
                .replaceAll("**", "")
                .replace(/ \(p99.*$/, "")}`,
          ),
      )
      .join("; "),
  };
}

function tenThousandTarget(results: BenchResults): TargetCheck {
  const target = "10,000 subscribers on one channel held locally, no errors, every event delivered";
  const run = size(results, "relay", 10_000);
  if (!run) return { target, met: null, figures: "no N=10,000 relay run" };
  const ceiling = results.sizes
    .filter((r) => r.system === "relay" && r.subscribers < 10_000 && r.subscribers > 5_000)
    .at(-1);
  const ceilingText = ceiling?.step
    ? `; at N=${fmt.int(ceiling.subscribers)} (fits the limit): ${fmt.int(ceiling.step.delivered)} / ${fmt.int(ceiling.step.expectedDeliveries)} delivered, p99 ${fmt.ms(ceiling.step.latency.p99Ms)} ms`
    : "";
  if (run.ok && run.step) {
    return {
      target,
      met: true,
      figures: `${fmt.int(run.step.delivered)} / ${fmt.int(run.step.expectedDeliveries)} delivered, 0 errors, p99 ${fmt.ms(run.step.latency.p99Ms)} ms`,
    };
  }
  const opened = run.open ? `opened ${fmt.int(run.open.opened)} of 10,000` : "did not open";
  return { target, met: false, figures: `${opened}: ${conciseFailure(run.failure)}${ceilingText}` };
}

function memoryTarget(results: BenchResults): TargetCheck {
  const target = "Memory per idle subscriber reported; aim < 20 KB in workerd";
  const runs = results.sizes.filter((r) => r.system === "relay" && r.memory);
  if (runs.length === 0) return { target, met: null, figures: "no relay run" };
  return {
    target,
    met: runs.every((r) => r.memory!.perSubscriberKB < 20),
    figures: runs.map((r) => `N=${fmt.int(r.subscribers)}: ${fmt.one(r.memory!.perSubscriberKB)} KB`).join("; "),
  };
}
