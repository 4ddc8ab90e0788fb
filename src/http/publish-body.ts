/**
 * A publish request's body, from bytes to the events it asks for: its media
 * type, its text (UTF-8, exactly), its JSON (numbers keep their source
 * text) and its shape (one event, or a batch over channels). The rules of
 * an event itself are the relay's model, shared with Redis ingestion
 * (src/events/event-rules.ts). Each function returns a clean typed value
 * or throws an ApiError (or EventRefused); a refused body changes nothing.
 */
import type { HonoRequest } from "hono";
import { assertFrameSize, type EventLimits, parseEventData, parseEventName } from "../events/event-rules";
import type { EventInput } from "../events/events";
import { ApiError } from "./errors";
import { isPlainObject, mediaTypeOf, parseChannelName } from "./validation";

export interface ChannelEventInput extends EventInput {
  readonly channel: string;
}

export interface PublishLimits extends EventLimits {
  readonly maxBatchEvents: number;
  readonly maxChannelNameLength: number;
}

/** One event: JSON `{"data", "event"?}`, or text/plain whose body is the data (event from `?event=`). */
export async function readEventInput(request: HonoRequest, limits: PublishLimits): Promise<EventInput> {
  if (mediaTypeOf(request.header("Content-Type")) === "text/plain") {
    const event = parseEventName(request.query("event"));
    const data = parseEventData(await readText(request), limits);
    return assertFrameSize(event === undefined ? { data } : { data, event }, limits);
  }
  return parseEventObject(await readJson(request, " or text/plain"), limits);
}

/** A batch: JSON `{"events": [{"channel", "data", "event"?}, ...]}`. */
export async function readBatch(request: HonoRequest, limits: PublishLimits): Promise<ChannelEventInput[]> {
  return parseBatch(await readJson(request, ""), limits);
}

/** `otherTypes`: the rest of the 415's "Send Content-Type: application/json…" sentence. */
async function readJson(request: HonoRequest, otherTypes: string): Promise<unknown> {
  const type = mediaTypeOf(request.header("Content-Type"));
  if (type !== "application/json") {
    throw new ApiError(
      415,
      "unsupported_media_type",
      `Send Content-Type: application/json${otherTypes}; got ${type ? `"${type}"` : "none"}.`,
    );
  }
  try {
    // Numbers keep the text they were sent as: data {"n": 12345678901234567890123} goes out as written,
    // not as the nearest double (src/events/event-rules.ts serializes non-string data).
    return JSON.parse(await readText(request), keepNumberText);
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw new ApiError(400, "invalid_json", "The request body is not valid JSON.");
  }
}

/** JSON.rawJSON (JSON.parse source text access, ES2026): TypeScript's lib does not declare it yet. */
const rawJSON = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;

function keepNumberText(_key: string, value: unknown, context?: { source?: string }): unknown {
  return typeof value === "number" && context?.source !== undefined ? rawJSON(context.source) : value;
}

/** The body as UTF-8, exactly: a leading BOM is data like any other character; bytes that are not UTF-8 are refused. */
async function readText(request: HonoRequest): Promise<string> {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(await request.arrayBuffer());
  } catch {
    throw new ApiError(400, "invalid_encoding", "The request body is not valid UTF-8.");
  }
}

function parseEventObject(body: unknown, limits: PublishLimits, where = "body"): EventInput {
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

function parseBatch(body: unknown, limits: PublishLimits): ChannelEventInput[] {
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
    const channel = parseChannelName(isPlainObject(item) ? item.channel : undefined, limits);
    return { channel, ...parsed };
  });
}
