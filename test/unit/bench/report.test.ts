/**
 * bench/report: docs/BENCHMARKS.md is tables rendered from results files.
 * The committed write-up (and bench/results/modes.json) must be exactly what
 * its own render command makes from the committed results; a run with sweeps and wrangler dev (as the
 * smoke run has) renders those sections too, and one without leaves them out.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { table } from "../../../bench/report/tables.ts";
import { modesSummary } from "../../../bench/report/modes.ts";
import { includeRun, mainSystems, readRunNotes, writeReport } from "../../../bench/report/write-report.ts";
import type { BenchResults, SizeResult, StepFigures, SweepPoint } from "../../../bench/scenario/results.ts";
import { OBJECTS_ROLE, WORKER_ROLE } from "../../../bench/systems/relay-split.ts";

const ROOT = join(import.meta.dirname, "../../..");
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Renders into a scratch directory and returns the Markdown. */
function render(results: BenchResults, source: string, notes?: string): string {
  return readFileSync(writeReport(results, scratch(), source, notes), "utf8");
}

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), "bench-report-test-"));
  dirs.push(dir);
  return dir;
}

const readResults = (file: string) => JSON.parse(readFileSync(join(ROOT, file), "utf8")) as BenchResults;

const latency = { count: 500, meanMs: 12, p50Ms: 10, p90Ms: 18, p99Ms: 25, maxMs: 30 };
const step: StepFigures = {
  events: 10,
  ratePerSecond: 20,
  offeredDeliveriesPerSecond: 1_000,
  expectedDeliveries: 500,
  delivered: 500,
  lost: 0,
  duplicates: 0,
  reordered: 0,
  droppedStreams: 0,
  publishFailed: 0,
  latency,
  deliveriesPerSecond: 950,
  publishResponse: latency,
  publisherMaxLagMs: 1,
  serverCpuPercent: 19,
  serverCpuByRole: { workerd: 19 },
  clientCpuPercent: 8,
  otherCpuPercent: 2,
  otherBusiest: [],
  wallSeconds: 0.55,
  errors: [],
};
const serverProcess = { role: "workerd", name: "workerd", pid: 1, rssMB: 60, fds: 120, sockets: 100, threads: 8 };

function sizeRun(system: string, overrides: Partial<SizeResult> = {}): SizeResult {
  return {
    system,
    subscribers: 50,
    ok: true,
    open: {
      subscribers: 50,
      opened: 50,
      failed: 0,
      allOpenMs: 120,
      each: latency,
      serverCpuSeconds: { workerd: 0.1 },
      errors: [],
    },
    memory: {
      baselineMB: 50,
      idleMB: 60,
      perSubscriberKB: 204.8,
      processes: [serverProcess],
      baselineProcesses: [{ ...serverProcess, rssMB: 50, fds: 20 }],
    },
    step,
    ...overrides,
  };
}

const point = (offered: number, p99Ms: number): SweepPoint => ({
  ...step,
  offeredDeliveriesPerSecond: offered,
  latency: { ...latency, p99Ms },
  sustainable: p99Ms <= 500,
  reason: p99Ms <= 500 ? "ok" : `p99 ${p99Ms} ms > 500 ms`,
});

const smokeLike: BenchResults = {
  mode: "smoke",
  fanout: { threshold: 20, size: 15 },
  startedAt: "2026-11-26T09:00:00.000Z",
  durationSeconds: 41,
  machine: { cpus: "2" },
  versions: { node: "v24.21.0", relayCommit: "abc1234" },
  settings: { events: 10, ratePerSecond: 20, payloadBytes: 100 },
  sizes: [
    sizeRun("relay"),
    sizeRun("nchan"),
    sizeRun("relay-direct", {
      ok: false,
      failure: "3 deliveries lost | first error: x",
      step: { ...step, delivered: 497, lost: 3 },
    }),
  ],
  sweeps: [
    {
      system: "relay",
      subscribers: 50,
      points: [point(250, 20), point(500, 900)],
      sustainableDeliveriesPerSecond: 250,
    },
  ],
  devProxy: [sizeRun("relay-dev", { subscribers: 20 })],
};

describe("table", () => {
  it("renders an unpadded GFM table: text columns left, figures right", () => {
    expect(
      table(
        ["System", "N", "p99 ms", "notes"],
        [
          ["Nchan", "1,000", "29", ""],
          ["Relay", "50", "25", "ok"],
        ],
      ),
    ).toBe(
      [
        "| System | N | p99 ms | notes |",
        "| --- | --: | --: | --- |",
        "| Nchan | 1,000 | 29 |  |",
        "| Relay | 50 | 25 | ok |",
      ].join("\n"),
    );
  });
});

describe("writeReport", () => {
  it("renders docs/BENCHMARKS.md exactly as committed, from the results files its render command names", () => {
    const committed = readFileSync(join(ROOT, "docs/BENCHMARKS.md"), "utf8");
    const command = /--report-only (\S+)((?: \\\n {2}--include \S+)*)/.exec(committed);
    expect(command, "the write-up names its render command").not.toBeNull();
    const [, source, includes] = command!;
    const files = [...includes!.matchAll(/--include (\S+)/g)].map((match) => match[1]!);
    let results = readResults(source!);
    for (const file of files) results = includeRun(results, file, readResults(file));
    const { notes } = readRunNotes(join(ROOT, dirname(source!), "notes.md"), results);
    expect(render(results, source!, notes), "docs/BENCHMARKS.md is stale: re-render it with the command it names").toBe(
      committed,
    );
    // The same command writes bench/results/modes.json, which docs/COSTS.md cites.
    const modes = modesSummary(mainSystems(results), source!, { objects: OBJECTS_ROLE, worker: WORKER_ROLE });
    expect(JSON.parse(JSON.stringify(modes))).toEqual(readResults("bench/results/modes.json")); // NaN is written as null
  });

  it("is tables: a summary, the sweep and wrangler dev sections when measured, every run named", () => {
    const text = render(includeRun(smokeLike, "bench/results/other.json", { ...smokeLike, sizes: [] }), "smoke.json");
    expect(text).not.toMatch(/\{\{\w+\}\}/);
    expect(text).toContain(
      "| `smoke.json` | 2026-11-26 09:00:00 UTC | 1 | `abc1234` | `relay`, `nchan`, `relay-direct` |",
    );
    expect(text).toContain("--report-only smoke.json \\\n  --include bench/results/other.json");
    expect(text).toContain("## Sustainable deliveries per second");
    expect(text).toContain("| 3 deliveries lost / first error: x |"); // a failure note cannot break its row
    expect(text).toContain("## `wrangler dev` against workerd");
    expect(text).toMatch(/\n\| 50 \| Relay, hibernating \(workerd\) \| 1 \| 500 \/ 500 \| 10 \| 25 \|/);
    // No padded cells, no run of blank lines where a section was left out.
    for (const line of text.split("\n").filter((l) => l.startsWith("|"))) expect(line).not.toMatch(/ {3}/);
    expect(text).not.toMatch(/\n{3}/);
  });

  it("leaves out the sections a run did not measure", () => {
    const text = render({ ...smokeLike, sweeps: [], devProxy: [] }, "full.json");
    expect(text).not.toContain("## Sustainable deliveries per second");
    expect(text).not.toContain("## `wrangler dev` against workerd");
    expect(text).toContain("## Summary");
  });

  it("renders a run's notes for that run only", () => {
    const file = join(scratch(), "notes.md");
    writeFileSync(
      file,
      `<!-- Notes on the run started ${smokeLike.startedAt} (smoke.json) -->\n- **Rows** from two runs.\n`,
    );
    const notes = readRunNotes(file, smokeLike);
    expect(notes).toEqual({ notes: "- **Rows** from two runs." });
    expect(render(smokeLike, "smoke.json", notes.notes)).toContain(
      "## Notes on this run\n\n- **Rows** from two runs.\n",
    );
    const later = { ...smokeLike, startedAt: "2026-11-27T10:00:00.000Z" };
    expect(readRunNotes(file, later)).toEqual({
      notes: undefined,
      why: `${file} is for the run started ${smokeLike.startedAt}`,
    });
    expect(render(later, "smoke.json")).not.toContain("## Notes on this run");
  });
});
