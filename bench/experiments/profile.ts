/**
 * Where the relay's CPU goes during fan-out: opens N subscribers on the
 * relay (or BENCH_RELAY_DIR's Worker) on workerd, samples the workerd
 * process with Linux perf while M events are published, and sums the
 * samples by component (V8, the HTTP server, streams, kernel, the Worker's
 * own JavaScript...). Needs `perf` (Debian: linux-perf) and root.
 *
 *   node_modules/.bin/node bench/experiments/profile.ts [--subscribers 1000] [--events 100] [--rate 10]
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { run } from "../lib/exec.ts";
import { sleep } from "../lib/server-process.ts";
import { measureStep, openSession, type SessionSettings } from "../scenario/session.ts";
import { relayModes } from "../systems/relay-workerd.ts";

const { values } = parseArgs({
  options: {
    subscribers: { type: "string", default: "1000" },
    events: { type: "string", default: "100" },
    rate: { type: "string", default: "10" },
  },
});

/** First matching pattern names the component a sampled symbol belongs to. */
const COMPONENTS: [string, RegExp][] = [
  ["kernel (TCP, syscalls)", /^\[kernel/],
  ["the Worker's JavaScript (JIT)", /^JIT|^JS:|perf-\d+\.map/],
  [
    "HTTP server (hyper/tokio, Rust)",
    /kj_hyper|hyper::|tokio|futures_util|futures_core|kj_rs|workerd_server::listen|alloc::|core::ptr/,
  ],
  ["V8 runtime and GC", /v8::|Builtins_|cppgc|v8_/],
  ["streams and bindings (workerd api/jsg)", /workerd::api|workerd::jsg|jsg::/],
  ["kj event loop and RPC", /kj::|capnp/],
  ["allocator", /tcmalloc|malloc|free/],
  ["other workerd", /workerd/],
];

const settings: SessionSettings = {
  subscribers: Number(values.subscribers),
  workers: Math.min(4, Math.ceil(Number(values.subscribers) / 2500)),
  openConcurrency: 256,
  payloadBytes: 100,
  publishConnections: 16,
  settleMs: 1000,
  stallMs: 10_000,
  serverCpus: "0",
  clientCpus: "1",
};

const dir = mkdtempSync(join(tmpdir(), "sse-bench-profile-"));
process.env.BENCH_WORKERD_V8_FLAGS ??= "--perf-basic-prof"; // names JIT frames in perf's report
// The default (hibernating) mode; FANOUT_THRESHOLD is raised past N, so no fan-out objects.
const relay = relayModes(join(dir, "bundle"), { threshold: 100_000, size: 1_000 })[0]!;
await relay.check();
const session = await openSession(relay, settings);
try {
  await measureStep(session, settings, { step: 0, events: 3, ratePerSecond: 10 });
  const data = join(dir, "perf.data");
  const perf = spawn("perf", ["record", "-F", "999", "-o", data, "-p", String(session.system.pid)], {
    stdio: "ignore",
  });
  await sleep(500);
  const step = await measureStep(session, settings, {
    step: 1,
    events: Number(values.events),
    ratePerSecond: Number(values.rate),
  });
  perf.kill("SIGINT");
  await new Promise((resolve) => perf.once("exit", resolve));
  const report = await run("perf", [
    "report",
    "-i",
    data,
    "--no-children",
    "--sort",
    "dso,symbol",
    "--stdio",
    "-g",
    "none",
    "--percent-limit",
    "0",
  ]);
  const totals = new Map<string, number>();
  const symbols: [number, string][] = [];
  for (const line of report.split("\n")) {
    const match = /^\s*([\d.]+)%\s+(.+?)\s+\[.\]\s+(.*)$/.exec(line);
    if (!match) continue;
    const component =
      COMPONENTS.find(([, pattern]) => pattern.test(match[2]!) || pattern.test(match[3]!))?.[0] ??
      `other (${match[2]})`;
    totals.set(component, (totals.get(component) ?? 0) + Number(match[1]));
    symbols.push([Number(match[1]), match[3]!.replace(/\s+$/, "").slice(0, 140)]);
  }
  console.log(
    `N=${settings.subscribers}, ${values.events} events at ${values.rate}/s: p50 ${step.latency.p50Ms} ms, p99 ${step.latency.p99Ms} ms, server CPU ${step.serverCpuPercent}%`,
  );
  for (const [component, percent] of [...totals].sort((a, b) => b[1] - a[1]))
    console.log(`${percent.toFixed(1).padStart(6)} %  ${component}`);
  console.log("\nbusiest symbols:");
  for (const [percent, symbol] of symbols.sort((a, b) => b[0] - a[0]).slice(0, 12))
    console.log(`${percent.toFixed(1).padStart(6)} %  ${symbol}`);
} finally {
  await session.close();
  rmSync(dir, { recursive: true, force: true });
}
