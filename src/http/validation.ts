/**
 * Validation of what a client puts in a URL or a header: channel names,
 * Last-Event-ID, the media type (publish bodies: src/http/publish-body.ts).
 * Each function either returns a clean typed value or throws an ApiError;
 * nothing here has side effects, so a refused request changes nothing.
 */
import { parseCursor } from "../edge/multi-cursor";
import { ApiError } from "./errors";

/** URL-safe, no percent-encoding needed: letters, digits, `.`, `_`, `:`, `-`. */
const CHANNEL_NAME_CHARACTERS = /^[A-Za-z0-9._:-]+$/;
/** Event ids are decimal integers below 2^53. */
const EVENT_ID = /^\d{1,15}$/;

export function parseChannelName(value: unknown, limits: { readonly maxChannelNameLength: number }): string {
  const max = limits.maxChannelNameLength;
  if (typeof value !== "string" || value.length > max || !CHANNEL_NAME_CHARACTERS.test(value) || /^\.+$/.test(value)) {
    throw new ApiError(
      400,
      "invalid_channel",
      `Channel names are 1 to ${max} characters from A-Z a-z 0-9 . _ : - (and not only dots); got ${describe(value)}.`,
    );
  }
  return value;
}

/** An absent or empty Last-Event-ID means "no replay" (undefined). */
export function parseLastEventId(value: string | null | undefined): number | undefined {
  if (value === null || value === undefined || value === "") return undefined;
  // Exactly what this relay sends: no trimming, so a stray CR or space is refused, not ignored.
  if (!EVENT_ID.test(value)) {
    throw new ApiError(
      400,
      "invalid_last_event_id",
      `Last-Event-ID must be an event id this relay sent (a whole number); got ${describe(value)}.`,
    );
  }
  return Number(value);
}

/**
 * The channels of a multi-channel stream: 1 to MAX_CHANNELS_PER_STREAM distinct valid names, none in
 * direct mode (a multi-channel stream is bridged only).
 */
export function parseChannelList(
  names: readonly string[],
  limits: { readonly maxChannelNameLength: number; readonly maxChannelsPerStream: number },
  modeOf: (channel: string) => "hibernating" | "direct",
): string[] {
  if (names.length === 0) {
    throw new ApiError(400, "missing_channel", "Name the channels to read: GET /v1/events?channel=a&channel=b.");
  }
  if (names.length > limits.maxChannelsPerStream) {
    throw new ApiError(
      400,
      "too_many_channels",
      `A stream carries at most ${limits.maxChannelsPerStream} channels (MAX_CHANNELS_PER_STREAM); got ${names.length}. Open several streams.`,
    );
  }
  const channels = names.map((name) => parseChannelName(name, limits));
  const seen = new Set<string>();
  for (const channel of channels) {
    if (seen.has(channel)) {
      throw new ApiError(400, "duplicate_channel", `Channel "${channel}" is named twice; name each channel once.`);
    }
    seen.add(channel);
    if (modeOf(channel) === "direct") {
      throw new ApiError(
        400,
        "direct_channel",
        `Channel "${channel}" is served in direct mode (DIRECT_CHANNEL_PREFIXES), which a multi-channel stream cannot carry; read it on its own stream (GET /v1/channels/${channel}/events).`,
      );
    }
  }
  return channels;
}

/** A multi-channel stream's Last-Event-ID: one position per channel (absent or empty: no replay). */
export function parseMultiLastEventId(value: string | undefined, channels: number): (number | undefined)[] | undefined {
  if (value === undefined || value === "") return undefined;
  const cursor = parseCursor(value, channels);
  if ("positions" in cursor) return cursor.positions;
  throw new ApiError(
    400,
    "invalid_last_event_id",
    `Last-Event-ID must be an id this stream sent (<channel index>:<position>.<position>…, one position per channel): ${cursor.problem}.`,
  );
}

/** The media type of a Content-Type header, lower case, without parameters ("" when absent). */
export function mediaTypeOf(contentType: string | undefined): string {
  return (contentType ?? "").split(";")[0]!.trim().toLowerCase();
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (typeof value !== "string") return value === undefined ? "nothing" : typeof value;
  const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
  return JSON.stringify(shown);
}
