/** One row of the latency table: a system with N subscribers, M events at the set rate. */
import type { SystemDefinition } from "../systems/types.ts";
import type { ObjectWork, SizeResult } from "./results.ts";
import { CHANNEL, type Session, type SessionError, measureStep, openSession, type SessionSettings } from "./session.ts";
import { sizeVerdict } from "./verdict.ts";

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
    const verdict = sizeVerdict(step);
    return {
      system: definition.id,
      subscribers: n,
      ok: verdict.ok,
      ...(verdict.ok ? {} : { failure: verdict.failure, serverOutput: tail(session.system.output()) }),
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

function tail(text: string, lines = 15): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}
