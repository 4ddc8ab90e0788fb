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
import type { SweepPoint, SweepResult } from "./results.ts";
import { type SessionError, measureStep, openSession, type Session, type SessionSettings } from "./session.ts";
import { judgeSweepStep, type SweepBounds } from "./verdict.ts";

export interface SweepPlan extends SweepBounds {
  readonly startDeliveriesPerSecond: number;
  readonly maxSteps: number;
  /** If the first step fails, how many times to halve the load looking for a sustainable one. */
  readonly maxStepsDown: number;
  readonly stepSeconds: number;
  readonly minEventsPerStep: number;
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
    const point = { ...figures, ...judgeSweepStep(figures, plan) };
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
