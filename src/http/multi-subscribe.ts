/**
 * GET /v1/events?channel=a&channel=b…: several channels on one stream
 * (hibernating delivery only; see src/edge/multi-stream.ts for the wire
 * format). Validates the request as a whole before anything attaches:
 * 1 to MAX_CHANNELS_PER_STREAM distinct valid names, none in direct mode,
 * a Last-Event-ID cursor with one position per channel, and a subscriber
 * token covering every private channel among them.
 */
import { bridgeSettings, bridgeTarget } from "../edge/bridge-options";
import type { Context } from "hono";
import type { RelayConfig } from "../config";
import { parseCursor } from "../edge/multi-cursor";
import { openMultiStream } from "../edge/multi-stream";
import type { Env } from "../env";
import type { Logger } from "../log";
import { clientKeyOf } from "./client-key";
import { ApiError } from "./errors";
import { authorizeSubscriber } from "./subscriber-auth";
import { parseChannelName } from "./validation";

export async function subscribeToMany(
  c: Context,
  env: Env,
  config: RelayConfig,
  isDirect: (channel: string) => boolean,
  logger: Logger,
): Promise<Response> {
  const channels = parseChannels(c.req.queries("channel") ?? [], config, isDirect);
  let expiresAt = Number.POSITIVE_INFINITY;
  let subject: string | null = null;
  for (const channel of channels) {
    const grant = await authorizeSubscriber(c, channel, config);
    if (grant === undefined) continue;
    expiresAt = Math.min(expiresAt, grant.expiresAt);
    subject ??= grant.subject;
  }
  // Authorized first: nothing about a private channel is answered to a client without a token.
  // The header wins: on reconnect EventSource sends it while the URL still holds the first query value.
  const header = c.req.header("Last-Event-ID");
  const after = parseAfter(header ? header : c.req.query("lastEventId"), channels.length);
  const client = await clientKeyOf(c.req.raw, subject);
  const opened = await openMultiStream(
    channels.map((channel) => bridgeTarget(env, c.req.raw, channel, client, logger)),
    after,
    bridgeSettings(config, Number.isFinite(expiresAt) ? expiresAt : undefined),
    c.req.raw.signal,
  );
  if (opened === null) {
    // An object from before the bridge (a rolling deploy): it cannot feed a multi-channel stream yet.
    throw new ApiError(503, "channel_unavailable", "A channel of this stream is being upgraded; retry shortly.", {
      "Retry-After": "5",
    });
  }
  // Re-wrap so middleware (CORS) can add headers.
  return new Response(opened.body, opened);
}

function parseChannels(names: readonly string[], config: RelayConfig, isDirect: (channel: string) => boolean) {
  if (names.length === 0) {
    throw new ApiError(400, "missing_channel", "Name the channels to read: GET /v1/events?channel=a&channel=b.");
  }
  if (names.length > config.maxChannelsPerStream) {
    throw new ApiError(
      400,
      "too_many_channels",
      `A stream carries at most ${config.maxChannelsPerStream} channels (MAX_CHANNELS_PER_STREAM); got ${names.length}. Open several streams.`,
    );
  }
  const channels = names.map((name) => parseChannelName(name, config));
  const seen = new Set<string>();
  for (const channel of channels) {
    if (seen.has(channel)) {
      throw new ApiError(400, "duplicate_channel", `Channel "${channel}" is named twice; name each channel once.`);
    }
    seen.add(channel);
    if (isDirect(channel)) {
      throw new ApiError(
        400,
        "direct_channel",
        `Channel "${channel}" is served in direct mode (DIRECT_CHANNEL_PREFIXES), which a multi-channel stream cannot carry; read it on its own stream (GET /v1/channels/${channel}/events).`,
      );
    }
  }
  return channels;
}

function parseAfter(value: string | undefined, channels: number): (number | undefined)[] | undefined {
  if (value === undefined || value === "") return undefined;
  const cursor = parseCursor(value, channels);
  if ("positions" in cursor) return cursor.positions;
  throw new ApiError(
    400,
    "invalid_last_event_id",
    `Last-Event-ID must be an id this stream sent (<channel index>:<position>.<position>…, one position per channel): ${cursor.problem}.`,
  );
}
