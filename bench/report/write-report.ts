/**
 * Renders docs/BENCHMARKS.md from bench/report/BENCHMARKS.template.md and
 * one run's results (with the runs merged into it by --include): every
 * figure is in a generated table; the template holds the method and short
 * notes on reading the tables. Sections with nothing measured in the run
 * (no rate sweep, no wrangler dev comparison) are left out whole.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BenchResults } from "../scenario/results.ts";
import { OBJECTS_ROLE, WORKER_ROLE } from "../systems/relay-split.ts";
import { devProxyLatencyTable, devProxyProcessTable, fdsPerSubscriber } from "./dev-proxy.ts";
import { modesTable, modesTargets, objectWorkTable, splitTable } from "./modes.ts";
import { subscriptionSplitTable, subscriptionTable } from "./subscriptions.ts";
import { checkTargets, targetsTable } from "./targets.ts";
import {
  SYSTEM_ORDER,
  conciseFailure,
  fmt,
  label,
  resultsTable,
  sweepDetailTable,
  sweepSummaryTable,
  table,
  unique,
} from "./tables.ts";

const TEMPLATE = join(import.meta.dirname, "BENCHMARKS.template.md");

const when = (iso: string) => iso.replace("T", " ").replace(/\.\d+Z$/, " UTC");

/**
 * `results` with another run's size runs merged in (--include): the report
 * then renders both, and names the other run's file, start, relay commit
 * and systems. Versions the run did not record itself (e.g. Nchan's, from
 * a run that measured it) are taken from the other.
 */
export function includeRun(results: BenchResults, file: string, other: BenchResults): BenchResults {
  return {
    ...results,
    sizes: [...results.sizes, ...other.sizes],
    versions: { ...other.versions, ...results.versions },
    includedRuns: [
      ...(results.includedRuns ?? []),
      {
        file,
        startedAt: other.startedAt,
        durationSeconds: other.durationSeconds,
        ...(other.versions.relayCommit === undefined ? {} : { relayCommit: other.versions.relayCommit }),
        systems: unique(other.sizes.map((r) => r.system)),
      },
    ],
  };
}

/** The relay's delivery modes and the baselines: what every table but the subscription ones is about. */
export function mainSystems(results: BenchResults): BenchResults {
  return { ...results, sizes: results.sizes.filter((r) => SYSTEM_ORDER.includes(r.system)) };
}

/** Every results file the report is rendered from: the run itself, then each merged into it. */
function runsTable(results: BenchResults, source: string): string {
  const included = results.includedRuns ?? [];
  const mergedSystems = new Set(included.flatMap((run) => run.systems));
  const own = unique(results.sizes.map((r) => r.system)).filter((system) => !mergedSystems.has(system));
  const rows = [
    {
      file: source,
      startedAt: results.startedAt,
      durationSeconds: results.durationSeconds,
      relayCommit: results.versions.relayCommit,
      systems: own,
    },
    ...included,
  ];
  return table(
    ["Results file", "Started", "Minutes", "Relay", "Systems"],
    rows.map((run) => [
      `\`${run.file}\``,
      when(run.startedAt),
      run.durationSeconds === undefined ? "–" : fmt.int(run.durationSeconds / 60),
      run.relayCommit === undefined ? "–" : `\`${run.relayCommit}\``,
      run.systems.map((system) => `\`${system}\``).join(", "),
    ]),
  );
}

/** The command that renders this report again from the same files. */
function renderCommand(results: BenchResults, source: string): string {
  const includes = (results.includedRuns ?? []).map((run) => ` \\\n  --include ${run.file}`).join("");
  return `node_modules/.bin/node bench/run.ts --report-only ${source}${includes}`;
}

function sweepSection(results: BenchResults): string {
  if (results.sweeps.length === 0) return "";
  const sizes = unique(results.sweeps.map((s) => s.subscribers)).sort((a, b) => a - b);
  const details = sizes.flatMap((n) =>
    results.sweeps
      .filter((s) => s.subscribers === n && s.points.length > 0)
      .map(
        (s) =>
          `<details><summary>${label(s.system)}, N = ${fmt.int(n)}${s.failure ? ` (${conciseFailure(s.failure)})` : ""}</summary>\n\n${sweepDetailTable(s)}\n\n</details>`,
      ),
  );
  return [
    "## Sustainable deliveries per second",
    "The highest offered load each system sustained at each N (method above); † the load generator's own core was saturated during the sweep, so that figure is a lower bound for the server.",
    sweepSummaryTable(results),
    "Every step of every sweep:",
    ...details,
    "",
  ].join("\n\n");
}

function devProxySection(results: BenchResults): string {
  if (results.devProxy.length === 0) return "";
  const fds = Object.entries(fdsPerSubscriber(results))
    .map(([k, v]) => `${k}: ${v.toFixed(2)}`)
    .join("; ");
  return [
    "## `wrangler dev` against workerd",
    "The same relay under `wrangler dev` (every connection passes its proxy workerd first) and on one workerd process, same harness:",
    devProxyLatencyTable(results),
    "Each process of each setup with every subscriber open and idle (descriptors per subscriber = (idle − before opening) ÷ N):",
    devProxyProcessTable(results),
    `Descriptors per subscriber, per workerd process (largest seen): ${fds}.`,
    "",
  ].join("\n\n");
}

/**
 * Notes written by hand for one run (where its rows come from, what to read
 * them with), from `file` (notes.md next to the run's results). Its first
 * line names the run, `<!-- Notes on the run started <startedAt> ... -->`,
 * and the notes are used for that run only: a new run in the same place
 * renders without them rather than under another run's notes.
 */
export function readRunNotes(
  file: string,
  results: BenchResults,
): { notes: string } | { notes: undefined; why: string } {
  if (!existsSync(file)) return { notes: undefined, why: `no ${file}` };
  const [first = "", ...rest] = readFileSync(file, "utf8").split("\n");
  const run = /^<!-- Notes on the run started (\S+)/.exec(first)?.[1];
  if (run !== results.startedAt)
    return { notes: undefined, why: `${file} is for the run started ${run ?? "(not named on its first line)"}` };
  return { notes: rest.join("\n").trim() };
}

/** Writes BENCHMARKS.md into `dir` from `results` (read from `source`); returns the file's path. */
export function writeReport(results: BenchResults, dir: string, source: string, notes?: string): string {
  const main = mainSystems(results);
  const roles = { objects: OBJECTS_ROLE, worker: WORKER_ROLE };
  const values: Record<string, string> = {
    source,
    runs: runsTable(results, source),
    notes: notes === undefined ? "" : `## Notes on this run\n\n${notes}\n`,
    renderCommand: renderCommand(results, source),
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
    payloadBytes: String(results.settings.payloadBytes),
    resultsTable: resultsTable(main),
    modesTable: modesTable(main),
    objectWorkTable: objectWorkTable(main),
    fanoutThreshold: String(results.fanout?.threshold ?? "–"),
    fanoutSize: String(results.fanout?.size ?? "–"),
    modesTargets: targetsTable(modesTargets(main, roles)),
    splitTable: splitTable(main, OBJECTS_ROLE, WORKER_ROLE),
    subscriptionTable: subscriptionTable(results),
    subscriptionSplitTable: subscriptionSplitTable(results),
    sweepSection: sweepSection(main),
    devProxySection: devProxySection(main),
    targets: targetsTable(checkTargets(main)),
  };
  const text = readFileSync(TEMPLATE, "utf8").replace(/\{\{(\w+)\}\}/g, (whole, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`BENCHMARKS template: unknown placeholder ${whole}`);
    return value;
  });
  const file = join(dir, "BENCHMARKS.md");
  // An empty section leaves blank lines behind: at most one blank line anywhere.
  writeFileSync(file, text.replace(/\n{3,}/g, "\n\n"));
  return file;
}
