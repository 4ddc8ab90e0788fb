/**
 * The publish-rate ceiling of one sequencing object: closed-loop publishers
 * (each sends its next publish when the previous one is answered) at
 * concurrency 1, 8 and 32 against the Mercure hub (POST /.well-known/mercure,
 * form-encoded, every update through the one `~mercure` object) and against
 * one plain channel (POST /v1/channels/c/events, text/plain), with no
 * subscriber and with some attached. Rounds are interleaved; the write-up
 * takes medians.
 *
 *   node_modules/.bin/node bench/experiments/publish-ceiling.ts [--rounds 3] [--seconds 4] [--subscribers 100]
 *
 * Writes bench/results/publish-ceiling/results.json (--out DIR to change).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { availableParallelism, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { run as exec } from "../lib/exec.ts";
import { Histogram } from "../lib/histogram.ts";
import { describeMachine } from "../lib/machine.ts";
import { busyPercent, readCpuTimes, waitForQuiet } from "../lib/machine-load.ts";
import { sampleTree } from "../lib/proc.ts";
import { sleep } from "../lib/server-process.ts";
import { encodePayload, nowUs } from "../load/payload.ts";
import { SubscriberPool } from "../load/subscriber-pool.ts";
import type { CeilingPoint, CeilingResults } from "../report/ceiling.ts";
import { subscriptionModeList } from "../systems/relay-subscriptions.ts";
import { REPO_ROOT, relayWorkerd } from "../systems/relay-workerd.ts";
import type { RunningSystem } from "../systems/types.ts";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    seconds: { type: "string", default: "4" },
    subscribers: { type: "string", default: "100" },
    concurrency: { type: "string", default: "1,8,32" },
    out: { type: "string", default: "bench/results/publish-ceiling" },
    "quiet-wait": { type: "string", default: "30" },
  },
});
const ROUNDS = Number(values.rounds);
const SECONDS = Number(values.seconds);
const SUBSCRIBERS = [0, Number(values.subscribers)];
const CONCURRENCY = values.concurrency.split(",").map(Number);
const PAYLOAD_BYTES = 100;
const pin = availableParallelism() >= 2;
const SERVER_CPUS = pin ? "0" : undefined;
const CLIENT_CPUS = pin ? "1" : undefined;

// Same systems as the subscription rows: one bundle, the hub on; "channel" publishes to /v1, "hub" to the hub.
const modes = subscriptionModeList();
const KINDS = {
  channel: modes.find((m) => m.id === "sub-single")!,
  hub: modes.find((m) => m.id === "mercure-exact")!,
} as const;
type Kind = keyof typeof KINDS;

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** `concurrency` closed loops for `seconds`: every answered publish is followed by the next one. */
async function closedLoop(system: RunningSystem, step: number, concurrency: number, seconds: number) {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const latency = new Histogram();
  const statuses: Record<string, number> = {};
  let accepted = 0;
  let failed = 0;
  let seq = 0;
  const endUs = nowUs() + seconds * 1e6;
  const encoding = system.publishEncoding ?? { contentType: "text/plain", bodies: (data: string) => [data] };
  const one = () =>
    new Promise<void>((done) => {
      const sentUs = nowUs();
      const body = encoding.bodies(encodePayload(step, seq++, sentUs, PAYLOAD_BYTES))[0]!;
      const req = request(
        {
          agent,
          host: system.host,
          port: system.port,
          method: "POST",
          path: system.publishPath("bench"),
          headers: {
            ...system.publishHeaders,
            "Content-Type": encoding.contentType,
            "Content-Length": Buffer.byteLength(body),
          },
        },
        (res) => {
          res.resume();
          res.on("end", () => {
            const status = res.statusCode ?? 0;
            statuses[status] = (statuses[status] ?? 0) + 1;
            if (status >= 200 && status < 300) accepted += 1;
            else failed += 1;
            latency.record(nowUs() - sentUs);
            done();
          });
        },
      );
      req.on("error", () => {
        statuses.error = (statuses.error ?? 0) + 1;
        failed += 1;
        done();
      });
      req.end(body);
    });
  const startUs = nowUs();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (nowUs() < endUs) await one();
    }),
  );
  const wallSeconds = (nowUs() - startUs) / 1e6;
  agent.destroy();
  return { accepted, failed, statuses, wallSeconds, latency: latency.summary() };
}

async function measure(kind: Kind, subscribers: number, round: number): Promise<CeilingPoint[]> {
  const bundleDir = resolve(tmpdir(), "sse-bench-ceiling-bundle");
  const workDir = mkdtempSync(join(tmpdir(), `sse-bench-ceiling-${kind}-`));
  const system = await relayWorkerd(bundleDir, KINDS[kind]).start({ workDir, cpus: SERVER_CPUS });
  let pool: SubscriberPool | undefined;
  const points: CeilingPoint[] = [];
  try {
    await closedLoop(system, -1, 4, 1); // warm-up: code compiled, the object created
    if (subscribers > 0) {
      const opened = await SubscriberPool.open({
        host: system.host,
        port: system.port,
        path: system.subscribePath("bench"),
        subscribers,
        workers: 1,
        openConcurrency: 64,
        cpus: CLIENT_CPUS,
      });
      if (opened.open.failed > 0) throw new Error(`${opened.open.failed} subscribers failed to open`);
      pool = opened.pool;
      await sleep(500);
    }
    for (const [index, concurrency] of CONCURRENCY.entries()) {
      const step = index + 1;
      pool?.startStep(step, 1_000_000);
      if (pool) await pool.progress();
      const serverBefore = sampleTree(system.pid);
      const machineBefore = readCpuTimes();
      const result = await closedLoop(system, step, concurrency, SECONDS);
      const serverCpuSeconds = sampleTree(system.pid).cpuSeconds - serverBefore.cpuSeconds;
      const machineBusy = busyPercent(machineBefore, readCpuTimes());
      // Deliveries still in flight when publishing stopped: wait until they stop arriving (or 10 s).
      let delivered = 0;
      if (pool) {
        let last = -1;
        const giveUp = Date.now() + 10_000;
        while (Date.now() < giveUp) {
          delivered = (await pool.progress()).received;
          if (delivered >= result.accepted * subscribers || delivered === last) break;
          last = delivered;
          await sleep(500);
        }
      }
      const point: CeilingPoint = {
        round,
        kind,
        subscribers,
        concurrency,
        seconds: Math.round(result.wallSeconds * 100) / 100,
        accepted: result.accepted,
        failed: result.failed,
        statuses: result.statuses,
        publishesPerSecond: Math.round(result.accepted / result.wallSeconds),
        p50Ms: result.latency.p50Ms,
        p99Ms: result.latency.p99Ms,
        serverCpuPercent: Math.round((serverCpuSeconds / result.wallSeconds) * 1000) / 10,
        machineBusyPercent: Math.round(machineBusy),
        delivered,
        expectedDeliveries: result.accepted * subscribers,
      };
      log(
        `  ${kind}, ${subscribers} subscribers, concurrency ${concurrency}: ${point.publishesPerSecond}/s, p50 ${point.p50Ms} p99 ${point.p99Ms} ms, server cpu ${point.serverCpuPercent}%, machine ${point.machineBusyPercent}%, failed ${point.failed}${subscribers > 0 ? `, delivered ${delivered}/${point.expectedDeliveries}` : ""}`,
      );
      points.push(point);
    }
  } finally {
    await pool?.close();
    await system.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
  return points;
}

async function main(): Promise<void> {
  if (CLIENT_CPUS !== undefined) await exec("taskset", ["-a", "-p", "-c", CLIENT_CPUS, String(process.pid)]);
  const started = Date.now();
  const quietWait = Number(values["quiet-wait"]);
  if (quietWait > 0) log(`machine busy ${await waitForQuiet(15, quietWait * 1000)} % of one core before the run`);
  const points: CeilingPoint[] = [];
  for (let round = 1; round <= ROUNDS; round += 1) {
    for (const subscribers of SUBSCRIBERS) {
      for (const kind of Object.keys(KINDS) as Kind[]) {
        log(`round ${round} of ${ROUNDS}: ${kind}, ${subscribers} subscribers`);
        points.push(...(await measure(kind, subscribers, round)));
      }
    }
  }
  const results: CeilingResults = {
    startedAt: new Date(started).toISOString(),
    durationSeconds: Math.round((Date.now() - started) / 1000),
    machine: await describeMachine(),
    settings: { rounds: ROUNDS, seconds: SECONDS, payloadBytes: PAYLOAD_BYTES, serverCpus: SERVER_CPUS ?? "any" },
    points,
  };
  const dir = resolve(REPO_ROOT, values.out);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "results.json");
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  log(`results: ${file}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`publish-ceiling failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
