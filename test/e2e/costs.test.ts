/**
 * `npm run costs`: docs/COSTS.md and README.md's cost section are what the
 * script makes of today's inputs (so a changed price, measurement or model
 * fails here until the documents are regenerated), a few cells agree with
 * figures worked out by hand from the published prices, and the relay
 * defaults the model assumes are still src/config/settings.ts's.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  ALL_SCENARIOS,
  COSTS_PATH,
  README_BEGIN,
  README_PATH,
  RELAY,
  expectedCosts,
  expectedReadme,
  freePlan,
  loadInputs,
  paidPlan,
  streamCycle,
  usage,
  usd,
} from "../../scripts/costs.ts";
import { parseConfig } from "../../src/config";

const inputs = loadInputs();
const scenario = (id: string) => ALL_SCENARIOS.find((s) => s.id === id)!;
const MONTH = 30 * 86_400;

describe("npm run costs", () => {
  it("docs/COSTS.md and the README section are up to date (else: npm run costs)", () => {
    expect(readFileSync(COSTS_PATH, "utf8")).toBe(expectedCosts(inputs));
    const readme = readFileSync(README_PATH, "utf8");
    expect(readme).toBe(expectedReadme(readme, inputs));
    // The section holds the generated block, numbers included.
    expect(readme).toContain(README_BEGIN);
    expect(readme).toContain(usd(paidPlan(inputs, usage(inputs, scenario("pages-0"), "direct")).total));
  });

  it("--check exits 0 on the committed documents", async () => {
    const result = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(process.execPath, ["scripts/costs.ts", "--check"], (error, _stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, stderr }),
      );
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain("CPU figures from");
  });

  it("assumes the relay's own defaults", () => {
    const config = parseConfig({});
    expect({
      heartbeatMs: config.heartbeatMs,
      retryMs: config.retryMs,
      maxStreamSeconds: config.maxStreamSeconds,
      streamCpuBudgetMs: config.streamCpuBudgetMs,
      fanoutThreshold: config.fanout.threshold,
      fanoutSize: config.fanout.size,
      maxSubscribersPerChannel: config.maxSubscribersPerChannel,
    }).toEqual({
      heartbeatMs: RELAY.heartbeatMs,
      retryMs: RELAY.retryMs,
      maxStreamSeconds: RELAY.maxStreamSeconds,
      streamCpuBudgetMs: RELAY.streamCpuBudgetMs,
      fanoutThreshold: RELAY.fanoutThreshold,
      fanoutSize: RELAY.fanoutSize,
      maxSubscribersPerChannel: RELAY.maxSubscribersPerChannel,
    });
    expect(
      parseConfig({
        UPSTASH_REDIS_REST_URL: "https://x.upstash.io",
        UPSTASH_REDIS_REST_TOKEN: "t",
        REDIS_CHANNEL_PREFIXES: "*",
      }).redis?.pollMs,
    ).toBe(RELAY.redisPollMs);
  });

  it("a 5 ms stream: 334 heartbeats of 15 µs, so 2,505 s idle (every 7.5 s from 15 s on); 47 deliveries of 108 µs, so 45 s at 1 event/s", () => {
    const idle = streamCycle(5, 0, 1000);
    expect(idle.writesPerStream).toBe(334);
    expect(idle.lifetime).toBe(15 + 332 * 7.5);
    expect(streamCycle(5, 1, 1000).writesPerStream).toBe(47); // ceil(5,000 / (100 + 8 per KiB))
    expect(streamCycle(5, 1, 1000).lifetime).toBe(45);
    // With a 25 s budget the hour-long lifetime ends streams first.
    expect(streamCycle(25_000, 1, 1000).lifetime).toBe(3600);
  });

  it("1,000 pages × 5 idle viewers in direct mode on Paid: 1,000 objects awake all month", () => {
    const subscribers = 5_000;
    const connects = (subscribers * MONTH) / 3_602; // one an hour, plus the 2 s retry
    const byHand =
      5 + // the plan
      ((1_000 * MONTH * 0.128 - 400_000) / 1e6) * 12.5 + // duration past the included GB-s
      ((connects - 1_000_000) / 1e6) * 0.15; // object requests past the included million
    // Worker requests (3.6M) and CPU (3.6M ms) stay inside the included 10M and 30M.
    expect(paidPlan(inputs, usage(inputs, scenario("pages-0"), "direct")).total).toBeCloseTo(byHand, 6);
    expect(byHand).toBeCloseTo(4147.59, 2);
  });

  it("Free plan: one watched direct channel uses 85 % of the daily 13,000 GB-s; 1 event/s passes 100,000 rows written a day", () => {
    const idle = freePlan(inputs, usage(inputs, scenario("10-0"), "direct"));
    expect(idle.fits).toBe(true);
    expect(idle.tightest.name).toContain("duration");
    expect(idle.tightest.share).toBeCloseTo((86_400 * 0.128) / 13_000, 9);
    const busy = freePlan(inputs, usage(inputs, scenario("10-1"), "direct"));
    expect(busy.fits).toBe(false);
    expect(busy.passed).toEqual(["rows written 259k/day > 100k"]); // 3 rows × 86,400 events
  });

  it("an idle hibernating channel of 1,000 on Paid: reconnects every 2,507 s, all inside the included usage", () => {
    const u = usage(inputs, scenario("1000-0"), "hibernating");
    const connects = (1_000 * MONTH) / 2_507;
    expect(u.workerRequests).toBeCloseTo(connects, 3);
    expect(u.doRequests).toBeCloseTo(connects, 3); // one attach each, no history read when idle
    const writes = connects * 334;
    const cpuMs =
      writes * (inputs.cpu.workerMicrosPerWrite!.value / 1000) + connects * inputs.cpu.workerMsPerConnect!.value;
    expect(u.workerCpuMs).toBeCloseTo(cpuMs, 3);
    const byHand = 5 + ((connects - 1_000_000) / 1e6) * 0.15 + (Math.max(0, cpuMs - 30e6) / 1e6) * 0.02;
    expect(paidPlan(inputs, u).total).toBeCloseTo(byHand, 6);
  });
});
