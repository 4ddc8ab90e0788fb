/** bench/scenario/verdict.ts: when a size run is clean, a sweep step sustainable, a smoke run failed. */
import { describe, expect, it } from "vitest";
import type { SizeResult, SweepPoint, SweepResult } from "../../../bench/scenario/results.ts";
import { judgeSweepStep, sizeVerdict, smokeProblems } from "../../../bench/scenario/verdict.ts";

const clean = { lost: 0, droppedStreams: 0, publishFailed: 0, duplicates: 0, errors: [] as string[] };
const bounds = { maxP99Ms: 500, maxPublisherLagMs: 250, clientCpuBudgetPercent: 100 };
const step = (overrides: Partial<Parameters<typeof judgeSweepStep>[0]> = {}) => ({
  ...clean,
  clientCpuPercent: 20,
  publisherMaxLagMs: 1,
  latency: { count: 100, meanMs: 5, p50Ms: 4, p90Ms: 8, p99Ms: 20, maxMs: 30 },
  ...overrides,
});

describe("sizeVerdict", () => {
  it("passes a run with every event delivered once, and reordering alone", () => {
    expect(sizeVerdict({ ...clean, errors: ["ignored while clean"] })).toEqual({ ok: true });
  });

  it.each([
    [{ lost: 3 }, "3 deliveries lost"],
    [{ droppedStreams: 2 }, "2 streams closed by the server"],
    [{ publishFailed: 1 }, "1 publishes failed"],
    [{ duplicates: 1 }, "1 events received twice"],
  ])("fails on %o", (bad, text) => {
    expect(sizeVerdict({ ...clean, ...bad })).toEqual({ ok: false, failure: text });
  });

  it("names every problem, then the first error", () => {
    expect(
      sizeVerdict({ lost: 5, droppedStreams: 1, publishFailed: 0, duplicates: 2, errors: ["socket: EPIPE", "x"] }),
    ).toEqual({
      ok: false,
      failure: "5 deliveries lost; 1 streams closed by the server; 2 events received twice; first error: socket: EPIPE",
    });
  });
});

describe("judgeSweepStep", () => {
  it("calls a clean, fast step sustainable", () => {
    expect(judgeSweepStep(step(), bounds)).toEqual({ sustainable: true, reason: "ok" });
  });

  it("gives the first reason that applies: losses, then dropped streams, refused publishes, the publisher's lag, p99", () => {
    const everything = step({
      lost: 1,
      droppedStreams: 2,
      publishFailed: 3,
      publisherMaxLagMs: 900,
      latency: { ...step().latency, p99Ms: 800 },
    });
    expect(judgeSweepStep(everything, bounds).reason).toBe("1 deliveries lost");
    expect(judgeSweepStep({ ...everything, lost: 0 }, bounds).reason).toBe("2 streams dropped");
    expect(judgeSweepStep({ ...everything, lost: 0, droppedStreams: 0 }, bounds).reason).toBe("3 publishes failed");
    expect(judgeSweepStep({ ...everything, lost: 0, droppedStreams: 0, publishFailed: 0 }, bounds)).toEqual({
      sustainable: false,
      reason: "publisher fell 900 ms behind its schedule",
    });
    expect(judgeSweepStep(step({ latency: { ...step().latency, p99Ms: 800 } }), bounds)).toEqual({
      sustainable: false,
      reason: "p99 800 ms > 500 ms",
    });
  });

  it("holds the bounds themselves as sustainable", () => {
    const atBounds = step({ publisherMaxLagMs: 250, latency: { ...step().latency, p99Ms: 500 } });
    expect(judgeSweepStep(atBounds, bounds).sustainable).toBe(true);
  });

  it("notes a load generator past 90 % of its CPU budget, whatever the verdict", () => {
    expect(judgeSweepStep(step({ clientCpuPercent: 91 }), bounds)).toEqual({
      sustainable: true,
      reason: "ok (load generator saturated)",
    });
    expect(judgeSweepStep(step({ clientCpuPercent: 90 }), bounds).reason).toBe("ok");
    expect(
      judgeSweepStep(step({ clientCpuPercent: 190, latency: { ...step().latency, p99Ms: 501 } }), bounds).reason,
    ).toBe("p99 501 ms > 500 ms (load generator saturated)");
  });
});

describe("smokeProblems", () => {
  const size = (system: string, ok: boolean, failure?: string): SizeResult => ({
    system,
    subscribers: 50,
    ok,
    ...(failure === undefined ? {} : { failure }),
  });
  const point = (lost: number, droppedStreams: number, reason: string) =>
    ({ ...step({ lost, droppedStreams }), sustainable: reason === "ok", reason }) as unknown as SweepPoint;
  const sweep = (points: SweepPoint[], failure?: string): SweepResult => ({
    system: "relay",
    subscribers: 50,
    points,
    sustainableDeliveriesPerSecond: 500,
    ...(failure === undefined ? {} : { failure }),
  });

  it("finds nothing in a clean run, nor in a sweep step that was only too slow", () => {
    const slow = point(0, 0, "p99 900 ms > 500 ms");
    expect(
      smokeProblems({ sizes: [size("relay", true)], sweeps: [sweep([slow])], devProxy: [size("relay-dev", true)] }),
    ).toEqual([]);
  });

  it("lists every failed size run (wrangler dev's too), failed sweep, and sweep step that lost events or streams", () => {
    const found = smokeProblems({
      sizes: [size("relay", true), size("nchan", false, "3 deliveries lost")],
      sweeps: [
        sweep([point(0, 0, "ok"), point(2, 0, "2 deliveries lost"), point(0, 1, "1 streams dropped")], "server exited"),
      ],
      devProxy: [size("relay-dev", false)],
    });
    expect(found).toEqual([
      "nchan N=50: 3 deliveries lost",
      "relay-dev N=50: failed",
      "relay sweep N=50: server exited",
      "relay sweep N=50: 2 deliveries lost",
      "relay sweep N=50: 1 streams dropped",
    ]);
  });
});
