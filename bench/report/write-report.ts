/**
 * Renders docs/BENCHMARKS.md from bench/report/BENCHMARKS.template.md and a
 * results file: every figure in the generated parts comes from the run;
 * the template holds the method and the analysis.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BenchResults } from "../scenario/results.ts";
import { latencyChart, sweepChart, throughputChart } from "./charts.ts";
import { devProxyLatencyTable, devProxyProcessTable, fdsPerSubscriber } from "./dev-proxy.ts";
import { OBJECTS_ROLE, WORKER_ROLE } from "../systems/relay-split.ts";
import { medians, modesTable, modesTargets, objectWorkTable, splitHeadline, splitTable } from "./modes.ts";
import { type CeilingResults, ceilingHeadline, ceilingTable } from "./ceiling.ts";
import { subscriptionHeadline, subscriptionSplitTable, subscriptionTable } from "./subscriptions.ts";
import { checkTargets, targetsTable } from "./targets.ts";
import {
  SYSTEM_ORDER,
  conciseFailure,
  fmt,
  label,
  resultsTable,
  sustainableText,
  sweepDetailTable,
  sweepSummaryTable,
  table,
  unique,
} from "./tables.ts";

const TEMPLATE = join(import.meta.dirname, "BENCHMARKS.template.md");
const RESULTS = join(import.meta.dirname, "../results");
/** Separate runs the write-up's subscription section renders, when present (see bench/experiments/README.md). */
export const SUBSCRIPTIONS_FILE = join(RESULTS, "subscriptions/full.json");
export const CEILING_FILE = join(RESULTS, "publish-ceiling/results.json");
export const SUBSCRIPTIONS_SPLIT_FILE = join(RESULTS, "subscriptions-split/full.json");

const readJson = <T>(file: string): T | undefined =>
  existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as T) : undefined;
const when = (iso: string) => iso.replace("T", " ").replace(/\.\d+Z$/, " UTC");

/** The placeholders of the subscription section: tables, run times, headline figures. */
function subscriptionValues(): Record<string, string> {
  const subs = readJson<BenchResults>(SUBSCRIPTIONS_FILE);
  const ceiling = readJson<CeilingResults>(CEILING_FILE);
  const split = readJson<BenchResults>(SUBSCRIPTIONS_SPLIT_FILE);
  const best = ceiling ? ceilingHeadline(ceiling) : undefined;
  return {
    subscriptionTable: subs ? subscriptionTable(subs) : "_Not measured: run the commands above._",
    subscriptionRun: subs
      ? `${when(subs.startedAt)} (${(subs.durationSeconds / 60).toFixed(0)} minutes), relay \`${subs.versions.relayCommit ?? "unknown"}\`, ${subs.settings.events} events at ${subs.settings.ratePerSecond}/s, ${subs.settings.repeat} interleaved rounds`
      : "not measured",
    subscriptionHeadline: subs ? subscriptionHeadline(subs) : "not measured",
    subscriptionSplitTable: split ? subscriptionSplitTable(split) : "_Not measured: run the commands above._",
    subscriptionSplitRun: split
      ? `${when(split.startedAt)} (${(split.durationSeconds / 60).toFixed(0)} minutes), relay \`${split.versions.relayCommit ?? "unknown"}\``
      : "not measured",
    ceilingTable: ceiling ? ceilingTable(ceiling) : "_Not measured: run the commands above._",
    ceilingRun: ceiling
      ? `${when(ceiling.startedAt)} (${(ceiling.durationSeconds / 60).toFixed(0)} minutes), ${ceiling.settings.rounds} interleaved rounds of ${ceiling.settings.seconds} s per point`
      : "not measured",
    ceilingHub: best ? fmt.int(best.hub) : "–",
    ceilingChannel: best ? fmt.int(best.channel) : "–",
    ceilingHubWithSubscribers: best ? fmt.int(best.hubWithSubscribers) : "–",
  };
}

/** A few lines with the figures people look for first (medians over the rounds of a repeated run). */
function headline(results: BenchResults): string {
  const lines: string[] = [];
  const all = medians(results);
  const at = (system: string, n: number) => results.sizes.find((r) => r.system === system && r.subscribers === n);
  const sizes = unique(results.sizes.map((r) => r.subscribers)).sort((a, b) => a - b);
  const rounds = Math.max(1, ...all.map((m) => m.rounds));
  for (const n of sizes) {
    const parts = all
      .filter((m) => m.subscribers === n && !m.system.endsWith("-split"))
      .map((m) => {
        const r = at(m.system, n)!;
        if (m.expected === 0)
          return `${label(m.system)} ${r.open && r.open.failed > 0 ? `could not open them all (${fmt.int(r.open.opened)} of ${fmt.int(n)}: out of file descriptors)` : `failed: ${conciseFailure(r.failure)}`}`;
        const lost = m.lost > 0 ? `, **${fmt.int(m.lost)} lost**` : "";
        return `${label(m.system)} ${fmt.ms(m.p50Ms.median)} / ${fmt.ms(m.p99Ms.median)} ms, ${fmt.one(m.cpuUsPerDelivery.median)} µs CPU per delivery${lost}`;
      });
    const rate = at("nchan", n)?.step ?? at("node", n)?.step ?? at("relay", n)?.step;
    const what = rate
      ? ` (${rate.events} events at ${rate.ratePerSecond}/s${rounds > 1 ? `, medians of ${rounds} rounds` : ""})`
      : "";
    lines.push(`- **N = ${fmt.int(n)}**${what}, p50 / p99: ${parts.join("; ")}.`);
  }
  const sweepSizes = unique(results.sweeps.map((s) => s.subscribers)).sort((a, b) => a - b);
  for (const n of sweepSizes) {
    const parts = results.sweeps
      .filter((s) => s.subscribers === n)
      .map(
        (s) =>
          `${label(s.system)} ${s.points.length === 0 ? "could not open N" : sustainableText(s).replaceAll("**", "")}`,
      );
    lines.push(`- **Sustainable deliveries per second at N = ${fmt.int(n)}**: ${parts.join("; ")}.`);
  }
  const memory = SYSTEM_ORDER.map((system) => {
    const runs = all.filter((m) => m.system === system && m.subscribers >= 1_000 && m.expected > 0);
    return runs.length === 0
      ? undefined
      : `${label(system)} ${runs.map((m) => fmt.one(m.kbPerSubscriber.median)).join(" / ")} KB`;
  }).filter((p) => p !== undefined);
  if (memory.length > 0)
    lines.push(
      `- **Memory per idle subscriber** (at each N in turn, measured before any event was published): ${memory.join("; ")}.`,
    );
  const split = splitHeadline(results, { objects: OBJECTS_ROLE, worker: WORKER_ROLE });
  if (split !== "") lines.push(split);
  return lines.join("\n");
}

/** Writes BENCHMARKS.md and the bench-*.svg charts into `dir`; returns the Markdown file's path. */
export function writeReport(results: BenchResults, dir: string): string {
  const sweepSizes = unique(results.sweeps.map((s) => s.subscribers)).sort((a, b) => a - b);
  const charts: string[] = [];
  const chart = (name: string, svg: string, alt: string) => {
    writeFileSync(join(dir, name), svg);
    charts.push(`![${alt}](${name})`);
  };
  chart("bench-latency.svg", latencyChart(results), "p50 and p99 latency against N");
  if (results.sweeps.length > 0)
    chart("bench-throughput.svg", throughputChart(results), "sustainable deliveries per second against N");
  const sweepChartSize = sweepSizes[0];
  if (sweepChartSize !== undefined)
    chart("bench-sweep.svg", sweepChart(results, sweepChartSize), "p99 latency against offered load");

  const values: Record<string, string> = {
    startedAt: results.startedAt.replace("T", " ").replace(/\.\d+Z$/, " UTC"),
    durationMinutes: (results.durationSeconds / 60).toFixed(0),
    mode: results.mode,
    machine: table(
      ["What", "Value"],
      Object.entries(results.machine).map(([k, v]) => [k, `\`${v}\``]),
    ),
    versions: table(
      ["What", "Version"],
      Object.entries(results.versions).map(([k, v]) => [k, `\`${v}\``]),
    ),
    settings: table(
      ["What", "Value"],
      Object.entries(results.settings).map(([k, v]) => [k, `\`${String(v)}\``]),
    ),
    events: String(results.settings.events),
    rate: String(results.settings.ratePerSecond),
    payloadBytes: String(results.settings.payloadBytes),
    resultsTable: resultsTable(results),
    modesTable: modesTable(results),
    objectWorkTable: objectWorkTable(results),
    fanoutThreshold: String(results.fanout?.threshold ?? "–"),
    fanoutSize: String(results.fanout?.size ?? "–"),
    charts: charts.join("\n\n"),
    sweepSummary: results.sweeps.length > 0 ? sweepSummaryTable(results) : "_No sweep in this run._",
    sweepDetails: sweepSizes
      .flatMap((n) =>
        results.sweeps
          .filter((s) => s.subscribers === n && s.points.length > 0)
          .map(
            (s) =>
              `<details><summary>${label(s.system)}, N = ${fmt.int(n)}${s.failure ? ` (${conciseFailure(s.failure)})` : ""}</summary>\n\n${sweepDetailTable(s)}\n\n</details>`,
          ),
      )
      .join("\n\n"),
    devProxyLatency: results.devProxy.length > 0 ? devProxyLatencyTable(results) : "_No wrangler dev run in this run._",
    devProxyProcesses: results.devProxy.length > 0 ? devProxyProcessTable(results) : "",
    fdsPerSubscriber: Object.entries(fdsPerSubscriber(results))
      .map(([k, v]) => `${k}: ${v.toFixed(2)}`)
      .join("; "),
    targets: targetsTable(checkTargets(results)),
    modesTargets: targetsTable(modesTargets(results, { objects: OBJECTS_ROLE, worker: WORKER_ROLE })),
    splitTable: splitTable(results, OBJECTS_ROLE, WORKER_ROLE),
    includedRuns:
      (results.includedRuns ?? [])
        .map((run) => `\`${run.file}\`, started ${run.startedAt.replace("T", " ").replace(/\.\d+Z$/, " UTC")}`)
        .join("; ") || "none",
    headline: headline(results),
    ...subscriptionValues(),
    relayCommit: results.versions.relayCommit ?? "unknown",
  };
  const text = readFileSync(TEMPLATE, "utf8").replace(/\{\{(\w+)\}\}/g, (whole, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`BENCHMARKS template: unknown placeholder ${whole}`);
    return value;
  });
  const file = join(dir, "BENCHMARKS.md");
  writeFileSync(file, text);
  return file;
}
