/**
 * Mercure updates: the publish form (draft-dunglas-mercure-08 §Publication: a
 * canonical topic and any alternate topics; the pre-standard protocol's form
 * in that mode), the compact envelope the hub stores as a relay event's data,
 * and the SSE frame subscribers get (§Subscription: `id`, `event` from
 * `type`, `retry`, `data`).
 */
import { formatEvent, isSafeFieldValue } from "../sse/codec";
import { badRequest, MercureRefused, tooLarge } from "./errors";
import type { MercureMode } from "../config";
import { parseFormEncoded } from "./form";
import { MERCURE_LIMITS } from "./limits";
import {
  EARLIEST,
  HUB_ID_PREFIX,
  hasControlCharacter,
  hasForbiddenCharacter,
  isReservedTopic,
  RESERVED_TYPE,
  WILDCARD,
} from "./protocol";

export interface MercureUpdate {
  /** The publisher's `id`, or one the hub generated; the SSE `id:` subscribers see. */
  id: string;
  /** The canonical topic first, then the alternate ones (draft-08 §Publication). */
  topics: string[];
  data: string;
  /** The SSE `event:` field. */
  type?: string;
  /** The SSE `retry:` field, in milliseconds. */
  retry?: number;
  private: boolean;
}

export type PublishedFields = Omit<MercureUpdate, "id"> & { id?: string };

export interface PublishLimits {
  readonly maxDataBytes: number;
  /** Characters of a topic, `id` or `type` (default MERCURE_LIMITS.maxFieldLength). */
  readonly maxFieldLength?: number;
  /** `topic` fields of one publish (default MERCURE_LIMITS.maxTopics). */
  readonly maxTopics?: number;
}

/** Fields that may appear once; a second one is refused rather than guessed between. */
const SINGLE_FIELDS = new Set(["data", "id", "type", "retry"]);
/** `retry` past this is refused: EventSource keeps it as a delay, and no real client waits 24 days. */
const MAX_RETRY = 2_147_483_647;
const utf8 = new TextEncoder();

/**
 * The update a publish request's form body describes, refused as draft-08
 * §Publication says. Draft mode: 400 for a missing or empty topic, a topic
 * that is exactly `*` (the wildcard, not addressable) or addresses the hub's
 * reserved namespace, a C0, DEL, C1 or Unicode format (Cf) character in a
 * topic, `id` or `type`, an `id` starting with `#` or equal to `earliest`, the
 * reserved `type` `mercure`, a `retry` that is not ASCII digits, invalid
 * UTF-8, a repeated single field; 413 past the size limits. The pre-standard
 * mode keeps that protocol's rules: C0, DEL and C1 refused in topics, CR, LF
 * and NUL in `id` and `type`, and 403 for the reserved namespace. Empty `id`,
 * `type` and `retry` count as absent. `private` marks the update private
 * whatever its value. Other fields are ignored.
 */
export function parsePublishForm(
  body: string | Uint8Array,
  mode: MercureMode,
  hubUrl: URL,
  limits: PublishLimits,
): PublishedFields {
  const maxFieldLength = limits.maxFieldLength ?? MERCURE_LIMITS.maxFieldLength;
  const maxTopics = limits.maxTopics ?? MERCURE_LIMITS.maxTopics;
  const draft = mode === "draft";
  const topics: string[] = [];
  const single = new Map<string, string>();
  let isPrivate = false;
  for (const [name, value] of parseFormEncoded(body)) {
    if (name === "topic") {
      if (topics.length === maxTopics) throw tooLarge(`An update has at most ${maxTopics} topic fields.`);
      topics.push(value);
    } else if (name === "private") {
      isPrivate = true;
    } else if (SINGLE_FIELDS.has(name)) {
      if (single.has(name)) throw badRequest(`The field "${name}" appears more than once.`);
      single.set(name, value);
    }
  }
  if (topics.length === 0) throw badRequest("The update has no topic field.");
  for (const topic of topics) {
    if (topic === "") throw badRequest("A topic must not be empty.");
    if (topic.length > maxFieldLength) throw tooLarge(`A topic is at most ${maxFieldLength} characters long.`);
    if (draft ? hasForbiddenCharacter(topic) : hasControlCharacter(topic)) {
      throw badRequest(
        draft
          ? "A topic must not contain control characters (U+0000-U+001F, U+007F-U+009F) or Unicode format characters (Cf)."
          : "A topic must not contain control characters (U+0000-U+001F, U+007F-U+009F).",
      );
    }
    if (draft && topic === WILDCARD) {
      throw badRequest('A topic must not be exactly "*": that is the wildcard matcher, which selects every topic.');
    }
    if (isReservedTopic(topic, hubUrl)) {
      const message = `Topics under ${hubUrl.pathname} are reserved for the hub's own updates.`;
      if (draft) throw badRequest(message);
      throw new MercureRefused(403, "reserved_topic", message);
    }
  }
  const data = single.get("data") ?? "";
  if (utf8.encode(data).byteLength > limits.maxDataBytes) {
    throw tooLarge(`The update's data is at most ${limits.maxDataBytes} bytes (UTF-8).`);
  }
  const fields: PublishedFields = { topics, data, private: isPrivate };
  const id = single.get("id");
  if (id) fields.id = checkId(id, mode, maxFieldLength);
  const type = single.get("type");
  if (type) fields.type = checkType(type, mode, maxFieldLength);
  const retry = single.get("retry");
  if (retry) {
    if (!/^[0-9]+$/.test(retry)) throw badRequest("The retry field must consist of ASCII digits only.");
    const milliseconds = Number(retry);
    if (milliseconds > MAX_RETRY) throw badRequest(`The retry field is at most ${MAX_RETRY} (milliseconds).`);
    fields.retry = milliseconds;
  }
  return fields;
}

function checkId(id: string, mode: MercureMode, maxFieldLength: number): string {
  if (id.length > maxFieldLength) throw tooLarge(`The id is at most ${maxFieldLength} characters long.`);
  if (id.startsWith(HUB_ID_PREFIX)) throw badRequest("The id must not start with # (those ids are the hub's).");
  if (mode === "draft" && hasForbiddenCharacter(id)) {
    throw badRequest(
      "The id must not contain control characters (U+0000-U+001F, U+007F-U+009F) or Unicode format characters (Cf).",
    );
  }
  if (!isSafeFieldValue(id)) throw badRequest("The id must not contain CR, LF or NUL.");
  if (id === EARLIEST) {
    throw badRequest(`The id "${EARLIEST}" is reserved: it asks the hub for its whole history on reconnection.`);
  }
  return id;
}

function checkType(type: string, mode: MercureMode, maxFieldLength: number): string {
  if (type.length > maxFieldLength) throw tooLarge(`The type is at most ${maxFieldLength} characters long.`);
  if (mode === "draft") {
    if (hasForbiddenCharacter(type)) {
      throw badRequest(
        "The type must not contain control characters (U+0000-U+001F, U+007F-U+009F) or Unicode format characters (Cf).",
      );
    }
    if (type === RESERVED_TYPE) {
      throw badRequest(`The type "${RESERVED_TYPE}" is reserved for the events the hub makes itself.`);
    }
  }
  if (!isSafeFieldValue(type)) throw badRequest("The type must not contain CR, LF or NUL.");
  return type;
}

/** A hub-generated id: an IRI (draft-08 §Publication), opaque and random (§Reconciliation, privacy note). */
export function generateUpdateId(): string {
  return `urn:uuid:${crypto.randomUUID()}`;
}

/**
 * The update as the hub stores it (a relay event's data): compact JSON with
 * one-letter keys, absent fields left out, private as `"p":1`.
 */
interface Envelope {
  i: string;
  t: string[];
  d: string;
  y?: string;
  r?: number;
  p?: 1;
}

export function encodeEnvelope(update: MercureUpdate): string {
  const envelope: Envelope = { i: update.id, t: update.topics, d: update.data };
  if (update.type !== undefined) envelope.y = update.type;
  if (update.retry !== undefined) envelope.r = update.retry;
  if (update.private) envelope.p = 1;
  return JSON.stringify(envelope);
}

/** The update `encodeEnvelope` stored; a TypeError if `text` is not one (stored data is the hub's own). */
export function decodeEnvelope(text: string): MercureUpdate {
  const value: unknown = JSON.parse(text);
  if (typeof value !== "object" || value === null) throw new TypeError("Mercure envelope: not an object");
  const envelope = value as Partial<Record<keyof Envelope, unknown>>;
  if (
    typeof envelope.i !== "string" ||
    !Array.isArray(envelope.t) ||
    envelope.t.length === 0 ||
    !envelope.t.every((topic) => typeof topic === "string") ||
    typeof envelope.d !== "string" ||
    (envelope.y !== undefined && typeof envelope.y !== "string") ||
    (envelope.r !== undefined && !(Number.isSafeInteger(envelope.r) && (envelope.r as number) >= 0)) ||
    (envelope.p !== undefined && envelope.p !== 1)
  ) {
    throw new TypeError("Mercure envelope: unexpected shape");
  }
  const update: MercureUpdate = {
    id: envelope.i,
    topics: envelope.t as string[],
    data: envelope.d,
    private: envelope.p === 1,
  };
  if (envelope.y !== undefined) update.type = envelope.y as string;
  if (envelope.r !== undefined) update.retry = envelope.r as number;
  return update;
}

/**
 * The SSE frame of an update: `retry:` if set, `id:`, `event:` if typed, one
 * `data:` line per line of data, a blank line. A CR, LF or NUL in the id or
 * type is a TypeError (parsePublishForm never lets one through).
 */
export function formatMercureEvent(update: MercureUpdate): string {
  const retry = update.retry === undefined ? "" : `retry: ${update.retry}\n`;
  const event = update.type === undefined ? {} : { event: update.type };
  return retry + formatEvent({ id: update.id, ...event, data: update.data });
}
