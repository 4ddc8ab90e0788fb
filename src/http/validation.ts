/**
 * Validation of everything a client controls: channel names, event names,
 * event data, Last-Event-ID and publish bodies. Each function either
 * returns a clean typed value or throws an ApiError; nothing here has side
 * effects, so a refused request changes nothing.
 */
import type { EventInput } from "../channel/events";
import { framedSize, isSafeFieldValue, isWellFormedText } from "../sse/codec";
import { ApiError } from "./errors";

export type { EventInput };

export interface ChannelEventInput extends EventInput {
  readonly channel: string;
}

export interface PublishLimits {
  readonly maxEventBytes: number;
  readonly maxBatchEvents: number;
  readonly maxChannelNameLength?: number;
}

/** URL-safe, no percent-encoding needed: letters, digits, `.`, `_`, `:`, `-`. */
const CHANNEL_NAME_CHARACTERS = /^[A-Za-z0-9._:-]+$/;
const DEFAULT_MAX_CHANNEL_NAME_LENGTH = 128;
const MAX_EVENT_NAME_LENGTH = 128;
/** Event names the relay itself sends (relay.lost); publishers may not forge them. */
const RESERVED_EVENT_PREFIX = "relay.";
/** Event ids are decimal integers below 2^53. */
const EVENT_ID = /^\d{1,15}$/;

const utf8 = new TextEncoder();

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

export function parseEventName(value: unknown, where = "event"): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_EVENT_NAME_LENGTH) {
    throw new ApiError(
      400,
      "invalid_event_name",
      `"${where}" must be a non-empty string of at most ${MAX_EVENT_NAME_LENGTH} characters.`,
    );
  }
  if (!isSafeFieldValue(value)) {
    throw new ApiError(400, "invalid_event_name", `"${where}" must not contain CR, LF or NUL characters.`);
  }
  if (!isWellFormedText(value)) {
    throw new ApiError(
      400,
      "invalid_event_name",
      `"${where}" must be well-formed Unicode: it has a lone surrogate (an unpaired \\uD800-\\uDFFF escape).`,
    );
  }
  if (value.startsWith(RESERVED_EVENT_PREFIX)) {
    throw new ApiError(
      400,
      "reserved_event_name",
      `Event names starting with "${RESERVED_EVENT_PREFIX}" are reserved for the relay's own signals.`,
    );
  }
  return value;
}

/** Strings are sent as they are; any other JSON value is sent as its JSON text. */
export function parseEventData(value: unknown, limits: PublishLimits, where = "data"): string {
  if (value === undefined) {
    throw new ApiError(
      400,
      "missing_data",
      `"${where}" is required: the event's payload (a string or any JSON value).`,
    );
  }
  // JSON.stringify escapes lone surrogates, so only a string can hold one.
  if (typeof value === "string" && !isWellFormedText(value)) {
    throw new ApiError(
      400,
      "invalid_data",
      `"${where}" must be well-formed Unicode: it has a lone surrogate (an unpaired \\uD800-\\uDFFF escape).`,
    );
  }
  const data = typeof value === "string" ? value : JSON.stringify(value);
  assertDataSize(data, limits);
  return data;
}

/**
 * Bounds the frame an event is sent as, not only its data: every line break
 * costs a `data: ` prefix, so 64 KiB of newlines would make a 458 KB frame.
 * A frame may be at most twice MAX_EVENT_BYTES, so MAX_BUFFERED_BYTES (at
 * least that) always holds one.
 */
export function assertFrameSize(input: EventInput, limits: PublishLimits, where = "The event"): EventInput {
  const max = 2 * limits.maxEventBytes;
  // Cheap upper bound first: a UTF-16 unit is at most 3 UTF-8 bytes, or a 7-byte "\ndata: ".
  if (7 * input.data.length + 3 * (input.event?.length ?? 0) + 40 <= max) return input;
  const size = framedSize(input);
  if (size > max) {
    throw new ApiError(
      413,
      "event_too_large",
      `${where} takes ${size} bytes on the stream (each line of data gets its own "data: " prefix); the limit is twice MAX_EVENT_BYTES, ${max}.`,
    );
  }
  return input;
}

function assertDataSize(data: string, limits: PublishLimits): void {
  // Cheap upper bound first: a UTF-16 unit is at most 3 UTF-8 bytes.
  if (data.length * 3 <= limits.maxEventBytes) return;
  const size = utf8.encode(data).byteLength;
  if (size > limits.maxEventBytes) {
    throw new ApiError(
      413,
      "event_too_large",
      `Event data is ${size} bytes; the limit is ${limits.maxEventBytes} (MAX_EVENT_BYTES).`,
    );
  }
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
