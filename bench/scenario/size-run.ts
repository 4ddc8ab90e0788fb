/** One row of the latency table: a system with N subscribers, M events at the set rate. */
import type { SystemDefinition } from "../systems/types.ts";
import type { ObjectWork, SizeResult } from "./results.ts";
import { CHANNEL, type Session, type SessionError, measureStep, openSession, type SessionSettings } from "./session.ts";

export interface SizeRunPlan {
  readonly events: number;
  readonly ratePerSecond: number;
}

export async function runSize(
  definition: SystemDefinition,
  settings: SessionSettings,
  plan: SizeRunPlan,
): Promise<SizeResult> {
  const n = settings.subscribers;
  let session: Session;
  try {
    session = await openSession(definition, settings);
  } catch (error) {
    const failure = error as SessionError;
    return {
      system: definition.id,
      subscribers: n,
      ok: false,
      failure: failure.message.split("\n")[0]!,
      ...(failure.open ? { open: failure.open } : {}),
      serverOutput: tail(failure.serverOutput ?? ""),
    };
  }
  try {
    // A few events first so every system's fan-out path is warm; not counted.
    await measureStep(session, settings, { step: 0, events: 3, ratePerSecond: 10 });
    // Who holds the streams, read before the measured step (streams the relay ends during it would skew it).
    const objects = await objectWork(session);
    const step = await measureStep(session, settings, {
      step: 1,
      events: plan.events,
      ratePerSecond: plan.ratePerSecond,
    });
    const ok = step.lost === 0 && step.droppedStreams === 0 && step.publishFailed === 0 && step.duplicates === 0;
    return {
      system: definition.id,
      subscribers: n,
      ok,
      ...(ok ? {} : { failure: describeFailure(step), serverOutput: tail(session.system.output()) }),
      open: session.open,
      memory: session.memory,
      step,
      ...(objects ? { objects } : {}),
    };
  } finally {
    await session.close();
  }
}

/** Streams per object as the relay's stats endpoint reports them; undefined for other systems. */
async function objectWork(session: Session): Promise<ObjectWork | undefined> {
  const read = session.system.channelStats;
  if (!read) return undefined;
  let stats: Awaited<ReturnType<typeof read>>;
  try {
    stats = await read.call(session.system, CHANNEL);
  } catch {
    return undefined; // a server that fell over is reported by the step, not here
  }
  const onFanouts = stats.fanouts.reduce((sum, f) => sum + f.subscribers, 0);
  return {
    mode: stats.mode,
    subscribers: stats.subscribers,
    channelObjectStreams: stats.subscribers - onFanouts,
    fanouts: stats.fanouts,
    channelObjectPushesPerEvent: stats.fanouts.length,
    maxFanoutDeliveriesPerEvent: Math.max(0, ...stats.fanouts.map((f) => f.subscribers)),
  };
}

export function describeFailure(step: {
  lost: number;
  droppedStreams: number;
  publishFailed: number;
  duplicates: number;
  errors: string[];
}): string {
  const parts: string[] = [];
  if (step.lost > 0) parts.push(`${step.lost} deliveries lost`);
  if (step.droppedStreams > 0) parts.push(`${step.droppedStreams} streams closed by the server`);
  if (step.publishFailed > 0) parts.push(`${step.publishFailed} publishes failed`);
  if (step.duplicates > 0) parts.push(`${step.duplicates} events received twice`);
  if (step.errors[0]) parts.push(`first error: ${step.errors[0]}`);
  return parts.join("; ");
}

function tail(text: string, lines = 15): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}
