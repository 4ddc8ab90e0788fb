/** The write-up's charts, drawn from one run's results. */
import type { BenchResults } from "../scenario/results.ts";
import { compact, lineChart, type Series } from "./svg-chart.ts";
import { medians } from "./modes.ts";
import { label } from "./tables.ts";

const COLORS: Record<string, string> = {
  relay: "#f38020",
  "relay-direct": "#b5179e",
  "relay-fanout": "#7a4b00",
  nchan: "#1f6fb4",
  node: "#2c9c3c",
  "relay-dev": "#888888",
};
const SYSTEMS = ["relay", "relay-direct", "relay-fanout", "nchan", "node"];

export function latencyChart(results: BenchResults): string {
  const series: Series[] = [];
  // Medians over the rounds, and only the runs at the common rate (the relay's open-file ceiling run uses a lower one).
  const common = {
    ...results,
    sizes: results.sizes.filter((r) => r.step && r.step.ratePerSecond === results.settings.ratePerSecond),
  };
  const all = medians(common);
  for (const system of SYSTEMS) {
    const runs = all
      .filter((m) => m.system === system && m.expected > 0 && m.lost === 0)
      .sort((a, b) => a.subscribers - b.subscribers);
    if (runs.length === 0) continue;
    series.push({
      name: `${label(system)} p99`,
      color: COLORS[system]!,
      points: runs.map((m) => [m.subscribers, m.p99Ms.median] as const),
    });
    series.push({
      name: `${label(system)} p50`,
      color: COLORS[system]!,
      dashed: true,
      points: runs.map((m) => [m.subscribers, m.p50Ms.median] as const),
    });
  }
  return lineChart({
    title: `Publish → receive latency, ${results.settings.events} events at ${results.settings.ratePerSecond}/s`,
    xLabel: "subscribers on the channel (N)",
    yLabel: "latency (ms, log scale)",
    yLog: true,
    series,
    formatY: (v) => `${compact(v)} ms`,
  });
}

export function throughputChart(results: BenchResults): string {
  const series: Series[] = SYSTEMS.map((system) => ({
    name: label(system),
    color: COLORS[system]!,
    points: results.sweeps
      .filter((s) => s.system === system && s.sustainableDeliveriesPerSecond > 0)
      .sort((a, b) => a.subscribers - b.subscribers)
      .map((s) => [s.subscribers, s.sustainableDeliveriesPerSecond] as const),
  })).filter((s) => s.points.length > 0);
  return lineChart({
    title: "Sustainable deliveries per second (rate sweep)",
    xLabel: "subscribers on the channel (N)",
    yLabel: "deliveries per second",
    series,
    formatY: compact,
  });
}

export function sweepChart(results: BenchResults, n: number): string {
  const series: Series[] = SYSTEMS.map((system) => ({
    name: label(system),
    color: COLORS[system]!,
    points: (results.sweeps.find((s) => s.system === system && s.subscribers === n)?.points ?? [])
      .filter((p) => p.lost === 0)
      .map((p) => [p.offeredDeliveriesPerSecond, p.latency.p99Ms] as const)
      .sort((a, b) => a[0] - b[0]),
  })).filter((s) => s.points.length > 0);
  return lineChart({
    title: `p99 latency against offered load, N = ${n.toLocaleString("en-US")}`,
    xLabel: "offered deliveries per second (log scale)",
    yLabel: "p99 latency (ms, log scale)",
    xLog: true,
    yLog: true,
    series,
    formatY: (v) => `${compact(v)} ms`,
  });
}
