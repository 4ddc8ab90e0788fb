/**
 * Publish-rate sweep: the same N subscribers, offered deliveries per second
 * doubling step by step until a step is not sustainable (an event lost, a
 * stream dropped, a publish refused, or p99 latency past the bound, which
 * is what a backlog growing through the step looks like); if the very first
 * step fails, the load is halved instead, a few times. One refining step
 * between the last good and the first bad rate follows when the system is
 * still clean. The highest sustainable offered rate is the result.
 */
import type { SystemDefinition } from "../systems/types.ts";
import type { StepFigures, SweepPoint, SweepResult } from "./results.ts";
import { type SessionError, measureStep, openSession, type Session, type SessionSettings } from "./session.ts";

export interface SweepPlan {
  readonly startDeliveriesPerSecond: number;
  readonly maxSteps: number;
  /** If the first step fails, how many times to halve the load looking for a sustainable one. */
  readonly maxStepsDown: number;
  readonly stepSeconds: number;
  readonly minEventsPerStep: number;
  readonly maxP99Ms: number;
  /** The publisher itself fell this far behind its schedule: the step says nothing about the server. */
  readonly maxPublisherLagMs: number;
  /** CPU the load generator may use (100 per core it runs on); past 90 % of it, it is the bottleneck. */
  readonly clientCpuBudgetPercent: number;
}

export async function runSweep(
  definition: SystemDefinition,
  settings: SessionSettings,
  plan: SweepPlan,
): Promise<SweepResult> {
  const n = settings.subscribers;
  let session: Session;
  try {
    session = await openSession(definition, settings);
  } catch (error) {
    return {
      system: definition.id,
      subscribers: n,
      points: [],
      sustainableDeliveriesPerSecond: 0,
      failure: (error as SessionError).message.split("\n")[0]!,
    };
  }
  const points: SweepPoint[] = [];
  let step = 10;
  const run = async (offered: number): Promise<SweepPoint> => {
    const ratePerSecond = offered / n;
    const events = Math.max(plan.minEventsPerStep, Math.round(ratePerSecond * plan.stepSeconds));
    const figures = await measureStep(session, settings, {
      step: step++,
      events,
      ratePerSecond,
      timeoutMs: Math.max(30_000, 4_000 * plan.stepSeconds),
    });
    const point = { ...figures, ...judge(figures, plan) };
    points.push(point);
    return point;
  };
  try {
    await measureStep(session, settings, { step: 1, events: 3, ratePerSecond: 10 }); // warm-up
    let good = 0;
    let bad = 0;
    let clean = true;
    const isClean = (point: SweepPoint) => point.lost === 0 && point.droppedStreams === 0 && point.publishFailed === 0;
    for (let i = 0; i < plan.maxSteps; i++) {
      const offered = plan.startDeliveriesPerSecond * 2 ** i;
      const point = await run(offered);
      if (point.sustainable) {
        good = offered;
        continue;
      }
      bad = offered;
      clean = isClean(point);
      break;
    }
    // Not even the first step: halve the load (a few times) to find what the system does sustain.
    for (let i = 1; good === 0 && clean && i <= plan.maxStepsDown; i++) {
      const offered = Math.round(plan.startDeliveriesPerSecond / 2 ** i);
      const point = await run(offered);
      if (point.sustainable) good = offered;
      else {
        bad = offered;
        clean = isClean(point);
      }
    }
    if (good > 0 && bad > 0 && clean) {
      const middle = Math.round(Math.sqrt(good * bad));
      const point = await run(middle);
      if (point.sustainable) good = middle;
    }
    return { system: definition.id, subscribers: n, points, sustainableDeliveriesPerSecond: good };
  } catch (error) {
    return {
      system: definition.id,
      subscribers: n,
      points,
      sustainableDeliveriesPerSecond: 0,
      failure: (error as Error).message,
    };
  } finally {
    await session.close();
  }
}

function judge(step: StepFigures, plan: SweepPlan): { sustainable: boolean; reason: string } {
  if (step.lost > 0) return { sustainable: false, reason: `${step.lost} deliveries lost` };
  if (step.droppedStreams > 0) return { sustainable: false, reason: `${step.droppedStreams} streams dropped` };
  if (step.publishFailed > 0) return { sustainable: false, reason: `${step.publishFailed} publishes failed` };
  const clientBound = step.clientCpuPercent > 0.9 * plan.clientCpuBudgetPercent ? " (load generator saturated)" : "";
  if (step.publisherMaxLagMs > plan.maxPublisherLagMs) {
    return {
      sustainable: false,
      reason: `publisher fell ${step.publisherMaxLagMs} ms behind its schedule${clientBound}`,
    };
  }
  if (step.latency.p99Ms > plan.maxP99Ms)
    return { sustainable: false, reason: `p99 ${step.latency.p99Ms} ms > ${plan.maxP99Ms} ms${clientBound}` };
  return { sustainable: true, reason: `ok${clientBound}` };
}
