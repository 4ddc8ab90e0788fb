/** bench/lib/histogram.ts: every delivery counted in 0.5 %-wide buckets, merged across worker processes. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Histogram } from "../../../bench/lib/histogram.ts";
import { testSeed } from "../../support/seed.ts";

const SEED = testSeed();
const runs = { seed: SEED, numRuns: 200 };

/** The exact percentile the histogram approximates: the smallest sample with at least `fraction` of all at or below it. */
function exactPercentile(samples: number[], fraction: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil(fraction * sorted.length)) - 1]!;
}

const recorded = (samples: number[]) => {
  const h = new Histogram();
  for (const us of samples) h.record(us);
  return h;
};

// 1 µs to 10 minutes: the range the bench sees (a value below 1 µs counts as 1).
const latencies = fc.array(fc.double({ min: 1, max: 6e8, noNaN: true }), { minLength: 1, maxLength: 300 });

describe("Histogram", () => {
  it("reports every percentile at most 0.5 % above the exact one, never below it, never above the max", () => {
    fc.assert(
      fc.property(latencies, fc.constantFrom(0.5, 0.9, 0.99, 1), (samples, fraction) => {
        const exact = exactPercentile(samples, fraction);
        const reported = recorded(samples).percentileUs(fraction);
        expect(reported).toBeGreaterThanOrEqual(exact * (1 - 1e-12));
        expect(reported).toBeLessThanOrEqual(exact * 1.005 * (1 + 1e-12));
        expect(reported).toBeLessThanOrEqual(Math.max(...samples));
      }),
      runs,
    );
  });

  it("merging workers' snapshots (sent as JSON over IPC) gives what one histogram of every sample gives", () => {
    fc.assert(
      fc.property(fc.array(latencies, { minLength: 1, maxLength: 4 }), (perWorker) => {
        const merged = new Histogram();
        for (const samples of perWorker) merged.merge(JSON.parse(JSON.stringify(recorded(samples).snapshot())));
        const all = recorded(perWorker.flat());
        const { sumUs, ...rest } = merged.snapshot();
        const { sumUs: allSumUs, ...allRest } = all.snapshot();
        expect(rest).toEqual(allRest);
        expect(sumUs).toBeCloseTo(allSumUs, 3); // the same sum, added in another order
        for (const fraction of [0.5, 0.9, 0.99, 1])
          expect(merged.percentileUs(fraction)).toBe(all.percentileUs(fraction));
      }),
      runs,
    );
  });

  it("counts, sums and bounds exactly; the snapshot holds only the buckets used", () => {
    const h = recorded([1_000, 2_000, 2_000, 3_000]);
    const snapshot = h.snapshot();
    expect(snapshot).toMatchObject({ count: 4, sumUs: 8_000, minUs: 1_000, maxUs: 3_000 });
    expect(snapshot.buckets).toHaveLength(3);
    expect(snapshot.buckets.map(([, n]) => n)).toEqual([1, 2, 1]);
    const summary = h.summary();
    expect(summary).toMatchObject({ count: 4, meanMs: 2, maxMs: 3 });
    expect(summary.p50Ms).toBeGreaterThanOrEqual(2);
    expect(summary.p50Ms).toBeLessThanOrEqual(2.01);
    expect(summary.p99Ms).toBe(3); // the top bucket's edge is capped at the max
  });

  it("counts a zero or negative reading (clock rounding) as 1 µs, and a reading past ~20 minutes in the top bucket", () => {
    const h = recorded([-5, 0, 0.25, 3e9]);
    expect(h.snapshot()).toMatchObject({ count: 4, minUs: 1, maxUs: 3e9 });
    expect(h.percentileUs(0.5)).toBeCloseTo(1.005, 9); // the upper edge of the first bucket
    expect(h.summary().maxMs).toBe(3e6);
  });

  it("has no figures before the first sample", () => {
    const summary = new Histogram().summary();
    expect(summary.count).toBe(0);
    for (const figure of [summary.meanMs, summary.p50Ms, summary.p99Ms, summary.maxMs]) expect(figure).toBeNaN();
  });
});
