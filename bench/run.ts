/**
 * The benchmark: the relay on workerd, Nchan and a minimal Node
 * broadcaster, driven by the same load generator in one run.
 *
 *   node_modules/.bin/node bench/run.ts           full run: bench/results/full.json, docs/BENCHMARKS.md
 *   node_modules/.bin/node bench/run.ts --smoke   every system at tiny sizes; exits 1 on any failure
 *   node_modules/.bin/node bench/run.ts --help    all options
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { describeMachine } from "./lib/machine.ts";
import { waitForQuiet } from "./lib/machine-load.ts";
import { planFromArgs, type Plan } from "./plan.ts";
import { modesSummary } from "./report/modes.ts";
import { includeRun, mainSystems, readRunNotes, writeReport } from "./report/write-report.ts";
import type { BenchResults, SizeResult, SweepResult } from "./scenario/results.ts";
import type { SessionSettings } from "./scenario/session.ts";
import { runSize } from "./scenario/size-run.ts";
import { runSweep } from "./scenario/sweep.ts";
import { smokeProblems } from "./scenario/verdict.ts";
import { nchan } from "./systems/nchan.ts";
import { nodeBroadcaster } from "./systems/node-broadcaster.ts";
import { REPO_ROOT, RELAY_SOURCE, relayModes } from "./systems/relay-workerd.ts";
import { OBJECTS_ROLE, relaySplitModes, WORKER_ROLE } from "./systems/relay-split.ts";
import { subscriptionSystems } from "./systems/relay-subscriptions.ts";
import { relayWranglerDev } from "./systems/relay-wrangler-dev.ts";
import type { SystemDefinition } from "./systems/types.ts";
import { run as exec, tryRun } from "./lib/exec.ts";
import { stopAll } from "./lib/server-process.ts";

function settingsFor(plan: Plan, subscribers: number): SessionSettings {
  return {
    subscribers,
    workers: Math.min(plan.maxWorkers, Math.ceil(subscribers / plan.subscribersPerWorker)),
    openConcurrency: plan.openConcurrency,
    payloadBytes: plan.payloadBytes,
    publishConnections: plan.publishConnections,
    settleMs: plan.settleMs,
    stallMs: plan.stallMs,
    serverCpus: plan.serverCpus,
    clientCpus: plan.clientCpus,
  };
}

async function measure(plan: Plan, _resultsDir: string): Promise<BenchResults> {
  const started = Date.now();
  // Outside the repository: tsc (tsconfig.node.json checks bench/ with checkJs) must never see the bundle.
  const bundleDir = mkdtempSync(join(tmpdir(), "sse-bench-bundle-"));
  const all: SystemDefinition[] = [
    ...relayModes(bundleDir, plan.fanout),
    ...relaySplitModes(bundleDir, plan.fanout),
    ...subscriptionSystems(bundleDir),
    nchan,
    nodeBroadcaster,
  ];
  const systems = plan.systems.map((id) => {
    const found = all.find((s) => s.id === id);
    if (!found) throw new Error(`unknown system "${id}" (known: ${all.map((s) => s.id).join(", ")})`);
    return found;
  });
  log(`checking ${systems.map((s) => s.label).join(", ")} (the relay is bundled with wrangler deploy --dry-run)`);
  for (const system of systems) await system.check();
  const versions: Record<string, string> = { node: process.version, relayCommit: await relayCommit() };
  for (const system of systems) Object.assign(versions, await system.versions());
  const machine = await describeMachine();

  if (plan.quietWaitMs > 0) {
    log("waiting for the machine to be quiet (other jobs skew every figure)...");
    const busy = await waitForQuiet(15, plan.quietWaitMs);
    log(`  machine busy ${busy} % of one core before the run`);
  }

  const sizes: SizeResult[] = [];
  // Rounds interleaved, so a slow spell on the shared machine hits every system rather than one.
  for (let round = 1; round <= plan.repeat; round += 1) {
    for (const n of plan.sizes) {
      for (const system of systems) {
        const which = plan.repeat > 1 ? ` (round ${round} of ${plan.repeat})` : "";
        log(`${system.label}: N=${n}, ${plan.events} events at ${plan.ratePerSecond}/s${which}`);
        const result = await runSize(system, settingsFor(plan, n), plan);
        log(summarizeSize(result));
        sizes.push(plan.repeat > 1 ? { ...result, round } : result);
      }
    }
  }
  const relay = systems.find((s) => s.id === "relay");
  const relayFailedToOpen = sizes.some(
    (r) => r.system === "relay" && !r.ok && r.open !== undefined && r.open.failed > 0,
  );
  if (relay && plan.relayCeiling !== undefined && relayFailedToOpen) {
    log(
      `${relay.label}: N=${plan.relayCeiling} (the most one workerd process holds under the open-file limit), ${plan.ceilingEvents} events at ${plan.ceilingRate}/s`,
    );
    const result = await runSize(relay, settingsFor(plan, plan.relayCeiling), {
      events: plan.ceilingEvents,
      ratePerSecond: plan.ceilingRate,
    });
    log(summarizeSize(result));
    sizes.push(result);
  }

  const sweeps: SweepResult[] = [];
  const sweep = async (system: SystemDefinition, n: number): Promise<SweepResult> => {
    log(`${system.label}: rate sweep at N=${n}`);
    const result = await runSweep(system, settingsFor(plan, n), {
      startDeliveriesPerSecond: plan.sweepStartDeliveries,
      maxSteps: plan.sweepMaxSteps,
      maxStepsDown: plan.mode === "smoke" ? 0 : 3,
      stepSeconds: plan.sweepStepSeconds,
      minEventsPerStep: plan.sweepMinEventsPerStep,
      maxP99Ms: plan.sweepMaxP99Ms,
      maxPublisherLagMs: 250,
      clientCpuBudgetPercent: 100 * (plan.clientCpus?.split(",").length ?? 2),
    });
    for (const point of result.points) {
      log(
        `  offered ${point.offeredDeliveriesPerSecond}/s: got ${point.deliveriesPerSecond}/s, p99 ${point.latency.p99Ms} ms, server cpu ${point.serverCpuPercent}%, client cpu ${point.clientCpuPercent}% -> ${point.reason}`,
      );
    }
    log(
      `  sustainable: ${result.sustainableDeliveriesPerSecond} deliveries/s${result.failure ? ` (${result.failure})` : ""}`,
    );
    sweeps.push(result);
    return result;
  };
  for (const n of plan.sweepSizes) {
    for (const system of systems.filter((s) => plan.sweepSystems.includes(s.id))) {
      const result = await sweep(system, n);
      // Past the open-file ceiling, sweep the relay at the largest N it can hold instead.
      if (
        system.id === "relay" &&
        result.points.length === 0 &&
        plan.relayCeiling !== undefined &&
        n > plan.relayCeiling
      ) {
        await sweep(system, plan.relayCeiling);
      }
    }
  }

  const devProxy: SizeResult[] = [];
  if (systems.some((s) => s.id === "relay")) {
    for (const n of plan.devProxySizes) {
      log(`${relayWranglerDev.label}: N=${n}, ${plan.events} events at ${plan.ratePerSecond}/s`);
      const result = await runSize(relayWranglerDev, settingsFor(plan, n), plan);
      log(summarizeSize(result));
      devProxy.push(result);
    }
  }
  rmSync(bundleDir, { recursive: true, force: true });

  return {
    mode: plan.mode,
    fanout: plan.fanout,
    startedAt: new Date(started).toISOString(),
    durationSeconds: Math.round((Date.now() - started) / 1000),
    machine,
    versions,
    settings: {
      events: plan.events,
      ratePerSecond: plan.ratePerSecond,
      repeat: plan.repeat,
      payloadBytes: plan.payloadBytes,
      subscribersPerWorker: plan.subscribersPerWorker,
      maxWorkers: plan.maxWorkers,
      openConcurrency: plan.openConcurrency,
      publishConnections: plan.publishConnections,
      serverCpus: plan.serverCpus ?? "any",
      clientCpus: plan.clientCpus ?? "any",
      sweepStartDeliveries: plan.sweepStartDeliveries,
      sweepStepSeconds: plan.sweepStepSeconds,
      sweepMaxP99Ms: plan.sweepMaxP99Ms,
    },
    sizes,
    sweeps,
    devProxy,
  };
}

async function relayCommit(): Promise<string> {
  // A snapshot without git metadata (e.g. `git archive` of a commit) names its commit here.
  if (process.env.BENCH_RELAY_COMMIT) return process.env.BENCH_RELAY_COMMIT;
  const commit = (await tryRun("git", ["-C", RELAY_SOURCE, "rev-parse", "--short", "HEAD"]))?.trim() ?? "unknown";
  const dirty = (
    await tryRun("git", ["-C", RELAY_SOURCE, "status", "--porcelain", "--", "src", "wrangler.toml"])
  )?.trim();
  return dirty ? `${commit} with uncommitted changes in src/ or wrangler.toml` : commit;
}

function summarizeSize(r: SizeResult): string {
  if (!r.step || !r.open || !r.memory)
    return `  FAILED: ${r.failure}${r.serverOutput ? `\n    server said: ${r.serverOutput.split("\n").slice(-3).join("\n    ")}` : ""}`;
  const s = r.step;
  const objects = r.objects
    ? `; objects: channel ${r.objects.channelObjectStreams} streams + ${r.objects.fanouts.length} fan-out objects (${r.objects.fanouts.map((f) => f.subscribers).join(", ")})`
    : "";
  return `  ${r.ok ? "ok" : "FAILED"}: open ${r.open.allOpenMs} ms, p50 ${s.latency.p50Ms} p99 ${s.latency.p99Ms} max ${s.latency.maxMs} ms, ${s.delivered}/${s.expectedDeliveries} delivered, ${s.deliveriesPerSecond}/s, server cpu ${s.serverCpuPercent}%, client cpu ${s.clientCpuPercent}%, other ${s.otherCpuPercent}%, ${r.memory.perSubscriberKB} KB/sub${objects}${r.failure ? `, ${r.failure}` : ""}`;
}

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Stops every server (each runs in its own process group, so nothing else would) and exits with a failure. */
async function abandon(why: string): Promise<never> {
  process.stderr.write(`bench: ${why}; stopping its servers\n`);
  await stopAll();
  process.exit(1);
}

async function main(): Promise<void> {
  const started = Date.now();
  const plan = planFromArgs(process.argv.slice(2));
  // The smoke run has a time budget of its own (CI runs it after the tests); a hung server cannot outlast it.
  if (plan.budgetSeconds !== undefined) {
    const budget = plan.budgetSeconds;
    setTimeout(() => void abandon(`over its time budget of ${budget} s`), budget * 1000).unref();
  }
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void abandon(`stopped by ${signal}`));
  const resultsDir = resolve(REPO_ROOT, plan.resultsDir);
  mkdirSync(resultsDir, { recursive: true });
  // This process publishes: it belongs on the load generator's CPU, not the server's.
  if (plan.clientCpus !== undefined && plan.reportOnly === undefined) {
    await exec("taskset", ["-a", "-p", "-c", plan.clientCpus, String(process.pid)]);
  }

  let results: BenchResults;
  if (plan.reportOnly !== undefined) {
    results = JSON.parse(readFileSync(resolve(plan.reportOnly), "utf8")) as BenchResults;
  } else {
    results = await measure(plan, resultsDir);
    const file = join(resultsDir, `${plan.mode}.json`);
    writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
    log(`results: ${file}`);
  }
  for (const file of plan.include) {
    results = includeRun(results, file, JSON.parse(readFileSync(resolve(file), "utf8")) as BenchResults);
  }
  // The smoke run renders the write-up too (into its results directory) so the renderer cannot rot.
  const docsDir =
    plan.writeDocs || plan.reportOnly !== undefined
      ? join(REPO_ROOT, "docs")
      : plan.mode === "smoke"
        ? resultsDir
        : undefined;
  const source = plan.reportOnly ?? join(plan.resultsDir, `${plan.mode}.json`);
  if (docsDir) {
    const notes = readRunNotes(join(dirname(resolve(REPO_ROOT, source)), "notes.md"), results);
    if (notes.notes === undefined) log(`no notes on this run (${notes.why})`);
    log(`write-up: ${writeReport(results, docsDir, source, notes.notes)}`);
  }
  // Per mode, the figures the cost model cites: next to the results, in the results directory.
  const modesFile = join(resultsDir, "modes.json");
  writeFileSync(
    modesFile,
    `${JSON.stringify(modesSummary(mainSystems(results), source, { objects: OBJECTS_ROLE, worker: WORKER_ROLE }), null, 2)}\n`,
  );
  log(`modes summary: ${modesFile}`);

  const found = smokeProblems(results);
  if (plan.mode === "smoke") {
    log(found.length === 0 ? "smoke: every system delivered every event" : `smoke FAILED:\n  ${found.join("\n  ")}`);
    if (found.length > 0) process.exitCode = 1;
  }
  log(
    `took ${Math.round((Date.now() - started) / 1000)} s${plan.budgetSeconds === undefined ? "" : ` (budget ${plan.budgetSeconds} s)`}`,
  );
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
