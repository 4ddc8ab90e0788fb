/**
 * Validation of everything a client controls: channel names, event names,
 * Last-Event-ID and publish bodies (the rules of an event itself are the
 * relay's model: src/channel/event-rules.ts). Each function either returns
 * a clean typed value or throws an ApiError (or EventRefused); nothing here
 * has side effects, so a refused request changes nothing.
 */
import { assertFrameSize, type EventLimits, parseEventData, parseEventName } from "../channel/event-rules";
import type { EventInput } from "../channel/events";
import { ApiError } from "./errors";

export type { EventInput };

export interface ChannelEventInput extends EventInput {
  readonly channel: string;
}

export interface PublishLimits extends EventLimits {
  readonly maxBatchEvents: number;
  readonly maxChannelNameLength?: number;
}

/** URL-safe, no percent-encoding needed: letters, digits, `.`, `_`, `:`, `-`. */
const CHANNEL_NAME_CHARACTERS = /^[A-Za-z0-9._:-]+$/;
const DEFAULT_MAX_CHANNEL_NAME_LENGTH = 128;
/** Event ids are decimal integers below 2^53. */
const EVENT_ID = /^\d{1,15}$/;

export function parseChannelName(
  value: unknown,
  limits: { readonly maxChannelNameLength: number } = { maxChannelNameLength: DEFAULT_MAX_CHANNEL_NAME_LENGTH },
): string {
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

/** The JSON body of a single publish: `{"data": ..., "event"?: "..."}`. */
export function parseEventObject(body: unknown, limits: PublishLimits, where = "body"): EventInput {
  if (!isPlainObject(body)) {
    throw new ApiError(400, "invalid_body", `${where} must be a JSON object like {"data": "...", "event": "name"}.`);
  }
  const event = parseEventName(body.event, where === "body" ? "event" : `${where}.event`);
  const data = parseEventData(body.data, limits, where === "body" ? "data" : `${where}.data`);
  return assertFrameSize(
    event === undefined ? { data } : { data, event },
    limits,
    where === "body" ? "The event" : where,
  );
}

/** The JSON body of a batch publish: `{"events": [{"channel", "data", "event"?}, ...]}`. */
export function parseBatch(body: unknown, limits: PublishLimits): ChannelEventInput[] {
  if (!isPlainObject(body) || !Array.isArray(body.events)) {
    throw new ApiError(
      400,
      "invalid_body",
      'Body must be a JSON object like {"events": [{"channel": "...", "data": "..."}]}.',
    );
  }
  const events: unknown[] = body.events;
  if (events.length === 0) {
    throw new ApiError(400, "invalid_body", '"events" must hold at least one event.');
  }
  if (events.length > limits.maxBatchEvents) {
    throw new ApiError(
      413,
      "batch_too_large",
      `A batch holds at most ${limits.maxBatchEvents} events (MAX_BATCH_EVENTS); got ${events.length}.`,
    );
  }
  return events.map((item, index) => {
    const where = `events[${index}]`;
    const parsed = parseEventObject(item, limits, where);
    const channel = parseChannelName(isPlainObject(item) ? item.channel : undefined, {
      maxChannelNameLength: limits.maxChannelNameLength ?? DEFAULT_MAX_CHANNEL_NAME_LENGTH,
    });
    return { channel, ...parsed };
  });
}

/** The media type of a Content-Type header, lower case, without parameters ("" when absent). */
export function mediaTypeOf(contentType: string | undefined): string {
  return (contentType ?? "").split(";")[0]!.trim().toLowerCase();
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (typeof value !== "string") return value === undefined ? "nothing" : typeof value;
  const shown = value.length > 40 ? `${value.slice(0, 40)}…` : value;
  return JSON.stringify(shown);
}
