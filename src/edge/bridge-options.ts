/**
 * What every bridged stream is opened with, from the request and the
 * configuration: one place for the single-channel, multi-channel and
 * Mercure subscribers.
 */
import type { RelayConfig } from "../config";
import type { Env } from "../env";
import type { Logger } from "../log";
import { type BridgeTarget, regionOf } from "./attach";
import type { BridgeSettings } from "./bridged-stream";

/** The channel a stream attaches to, near the subscriber's region. */
export function bridgeTarget(
  env: Pick<Env, "CHANNELS" | "FANOUTS">,
  request: Request,
  channel: string,
  client: string | null,
  log: Logger,
): BridgeTarget {
  return {
    channel,
    client,
    region: regionOf(request),
    channels: env.CHANNELS,
    fanouts: env.FANOUTS,
    log: log.with({ channel }),
  };
}

/** The stream's limits; it ends cleanly after MAX_STREAM_SECONDS or at the token's expiry, whichever is first. */
export function bridgeSettings(config: RelayConfig, tokenExpiresAt: number | undefined): BridgeSettings {
  const lifetimeEnd = Date.now() + config.maxStreamSeconds * 1000;
  return {
    retryMs: config.retryMs,
    heartbeatMs: config.heartbeatMs,
    bufferBytes: config.streamBufferBytes,
    cpuBudgetMs: config.streamCpuBudgetMs,
    replay: config.replay,
    maxSubscribers: config.maxSubscribersPerChannel,
    closeAt: tokenExpiresAt === undefined ? lifetimeEnd : Math.min(lifetimeEnd, tokenExpiresAt),
  };
}
