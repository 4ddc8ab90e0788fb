/**
 * The bench's judgements, pure: whether a size run delivered cleanly,
 * whether a sweep step was sustainable, and what makes a smoke run fail.
 * Everything the harness measures passes through here before it is called
 * a success, so these rules are what the unit tests pin down.
 */
import type { BenchResults, StepFigures } from "./results.ts";

/** The counters a verdict reads from a step (a StepFigures, or a test's hand-made one). */
type Counted = Pick<StepFigures, "lost" | "droppedStreams" | "publishFailed" | "duplicates" | "errors">;

/**
 * A size run is clean when every event reached every subscriber exactly
 * once, no stream was closed by the server and no publish was refused.
 * Reordering is not a failure (concurrent publishes race to the server).
 */
export function sizeVerdict(step: Counted): { ok: true } | { ok: false; failure: string } {
  const parts: string[] = [];
  if (step.lost > 0) parts.push(`${step.lost} deliveries lost`);
  if (step.droppedStreams > 0) parts.push(`${step.droppedStreams} streams closed by the server`);
  if (step.publishFailed > 0) parts.push(`${step.publishFailed} publishes failed`);
  if (step.duplicates > 0) parts.push(`${step.duplicates} events received twice`);
  if (parts.length === 0) return { ok: true };
  if (step.errors[0]) parts.push(`first error: ${step.errors[0]}`);
  return { ok: false, failure: parts.join("; ") };
}

/** The bounds a sweep step is judged against. */
export interface SweepBounds {
  readonly maxP99Ms: number;
  /** The publisher itself fell this far behind its schedule: the step says nothing about the server. */
  readonly maxPublisherLagMs: number;
  /** CPU the load generator may use (100 per core it runs on); past 90 % of it, it is the bottleneck. */
  readonly clientCpuBudgetPercent: number;
}

type Judged = Counted & Pick<StepFigures, "clientCpuPercent" | "publisherMaxLagMs" | "latency">;

/**
 * A sweep step is sustainable when nothing was lost, dropped or refused, the
 * publisher kept its schedule and p99 stayed under the bound (a backlog
 * growing through the step shows as a growing p99). The first reason that
 * applies is given; a saturated load generator is noted on any verdict.
 */
export function judgeSweepStep(step: Judged, bounds: SweepBounds): { sustainable: boolean; reason: string } {
  if (step.lost > 0) return { sustainable: false, reason: `${step.lost} deliveries lost` };
  if (step.droppedStreams > 0) return { sustainable: false, reason: `${step.droppedStreams} streams dropped` };
  if (step.publishFailed > 0) return { sustainable: false, reason: `${step.publishFailed} publishes failed` };
  const clientBound = step.clientCpuPercent > 0.9 * bounds.clientCpuBudgetPercent ? " (load generator saturated)" : "";
  if (step.publisherMaxLagMs > bounds.maxPublisherLagMs) {
    return {
      sustainable: false,
      reason: `publisher fell ${step.publisherMaxLagMs} ms behind its schedule${clientBound}`,
    };
  }
  if (step.latency.p99Ms > bounds.maxP99Ms)
    return { sustainable: false, reason: `p99 ${step.latency.p99Ms} ms > ${bounds.maxP99Ms} ms${clientBound}` };
  return { sustainable: true, reason: `ok${clientBound}` };
}

/**
 * What fails a smoke run: any size run (wrangler dev's included) that was
 * not clean, any sweep that errored, and any sweep step that lost events or
 * streams. A sweep step that was merely too slow is not a failure: the
 * smoke run checks that nothing is lost, not how fast a shared machine is.
 */
export function smokeProblems(results: Pick<BenchResults, "sizes" | "sweeps" | "devProxy">): string[] {
  const found: string[] = [];
  for (const r of [...results.sizes, ...results.devProxy]) {
    if (!r.ok) found.push(`${r.system} N=${r.subscribers}: ${r.failure ?? "failed"}`);
  }
  for (const s of results.sweeps) {
    if (s.failure) found.push(`${s.system} sweep N=${s.subscribers}: ${s.failure}`);
    for (const p of s.points)
      if (p.lost > 0 || p.droppedStreams > 0) found.push(`${s.system} sweep N=${s.subscribers}: ${p.reason}`);
  }
  return found;
}
