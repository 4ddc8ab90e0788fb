/**
 * The relay's rules for an event, whichever way it arrives (an HTTP
 * publish or a Redis Stream entry): its name, its data and the size of the
 * frame it becomes. Pure functions; a broken rule throws EventRefused, which
 * the HTTP layer answers with its status and code, and Redis ingestion logs
 * and skips (nobody to answer there).
 */
import { framedSize, isSafeFieldValue, isWellFormedText } from "../sse/codec";
import type { EventInput } from "./events";

export interface EventLimits {
  readonly maxEventBytes: number;
}

/** A broken rule: the HTTP status it is answered with, a stable code and a sentence for humans. */
export class EventRefused extends Error {
  constructor(
    readonly status: 400 | 413,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "EventRefused";
  }
}

const MAX_EVENT_NAME_LENGTH = 128;
/** Event names the relay itself sends (relay.lost); publishers may not forge them. */
export const RESERVED_EVENT_PREFIX = "relay.";

const utf8 = new TextEncoder();

export function parseEventName(value: unknown, where = "event"): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string" || value.length === 0 || value.length > MAX_EVENT_NAME_LENGTH) {
    throw new EventRefused(
      400,
      "invalid_event_name",
      `"${where}" must be a non-empty string of at most ${MAX_EVENT_NAME_LENGTH} characters.`,
    );
  }
  if (!isSafeFieldValue(value)) {
    throw new EventRefused(400, "invalid_event_name", `"${where}" must not contain CR, LF or NUL characters.`);
  }
  if (!isWellFormedText(value)) {
    throw new EventRefused(
      400,
      "invalid_event_name",
      `"${where}" must be well-formed Unicode: it has a lone surrogate (an unpaired \\uD800-\\uDFFF escape).`,
    );
  }
  if (value.startsWith(RESERVED_EVENT_PREFIX)) {
    throw new EventRefused(
      400,
      "reserved_event_name",
      `Event names starting with "${RESERVED_EVENT_PREFIX}" are reserved for the relay's own signals.`,
    );
  }
  return value;
}

/** Strings are sent as they are; any other JSON value is sent as its JSON text. */
export function parseEventData(value: unknown, limits: EventLimits, where = "data"): string {
  if (value === undefined) {
    throw new EventRefused(
      400,
      "missing_data",
      `"${where}" is required: the event's payload (a string or any JSON value).`,
    );
  }
  // JSON.stringify escapes lone surrogates, so only a string can hold one.
  if (typeof value === "string" && !isWellFormedText(value)) {
    throw new EventRefused(
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
 * A frame may be at most twice MAX_EVENT_BYTES; a stream's empty queue always
 * takes one frame, whatever STREAM_BUFFER_BYTES is (src/stream/outlet.ts).
 */
export function assertFrameSize(input: EventInput, limits: EventLimits, where = "The event"): EventInput {
  const max = 2 * limits.maxEventBytes;
  // Cheap upper bound first: a UTF-16 unit is at most 3 UTF-8 bytes, or a 7-byte "\ndata: ".
  if (7 * input.data.length + 3 * (input.event?.length ?? 0) + 40 <= max) return input;
  const size = framedSize(input);
  if (size > max) {
    throw new EventRefused(
      413,
      "event_too_large",
      `${where} takes ${size} bytes on the stream (each line of data gets its own "data: " prefix); the limit is twice MAX_EVENT_BYTES, ${max}.`,
    );
  }
  return input;
}

function assertDataSize(data: string, limits: EventLimits): void {
  // Cheap upper bound first: a UTF-16 unit is at most 3 UTF-8 bytes.
  if (data.length * 3 <= limits.maxEventBytes) return;
  const size = utf8.encode(data).byteLength;
  if (size > limits.maxEventBytes) {
    throw new EventRefused(
      413,
      "event_too_large",
      `Event data is ${size} bytes; the limit is ${limits.maxEventBytes} (MAX_EVENT_BYTES).`,
    );
  }
}
