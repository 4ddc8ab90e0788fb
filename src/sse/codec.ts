/**
 * Server-sent events wire codec (WHATWG HTML, "Server-sent events" §9.2).
 *
 * Pure functions, no I/O: they turn one event into the exact text a
 * conforming EventSource parses back into the same event. Every frame is
 * encoded once and the same bytes are written to every subscriber.
 */

export interface SseEvent {
  /** Sent as the `id:` field; becomes `lastEventId` in the browser. */
  readonly id?: string;
  /** Sent as the `event:` field; absent means the default `message` type. */
  readonly event?: string;
  /** Any text. Line breaks (LF, CR, CRLF) become one `data:` line each. */
  readonly data: string;
}

/** LF, CR and CRLF all end a line in an event stream. */
const LINE_BREAK = /\r\n|\r|\n/;
/** Characters that would end a field early and let a value inject frames. */
const FORBIDDEN_IN_FIELD = /[\r\n\0]/;

const utf8 = new TextEncoder();

/** A UTF-16 surrogate without its other half: UTF-8 cannot encode it. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * True if `text` is well-formed UTF-16 (String.prototype.isWellFormed). A
 * lone surrogate would be encoded differently on the way to a stream (one
 * U+FFFD) and through storage (three), so such text is never sent.
 */
export function isWellFormedText(text: string): boolean {
  LONE_SURROGATE.lastIndex = 0;
  return !LONE_SURROGATE.test(text);
}

/** Replaces each lone surrogate with U+FFFD (String.prototype.toWellFormed). */
export function toWellFormedText(text: string): string {
  return text.replace(LONE_SURROGATE, "\uFFFD");
}

/** Bytes of the frame `event` would be sent as, with the longest id an event can have. */
export function framedSize(event: Omit<SseEvent, "id">): number {
  return utf8.encode(formatEvent({ ...event, id: LONGEST_ID })).byteLength;
}

/** Event ids are below 2^53, so at most 16 digits. */
const LONGEST_ID = "9".repeat(16);

/** True if `value` can be sent as an `event:` or `id:` field without breaking framing. */
export function isSafeFieldValue(value: string): boolean {
  return !FORBIDDEN_IN_FIELD.test(value);
}

/**
 * One event as stream text. Always writes `data: ` with the space so a line
 * that itself starts with a space keeps it (parsers strip exactly one).
 */
export function formatEvent(event: SseEvent): string {
  let frame = "";
  if (event.id !== undefined) frame += `id: ${assertSafe("id", event.id)}\n`;
  if (event.event !== undefined) frame += `event: ${assertSafe("event", event.event)}\n`;
  for (const line of event.data.split(LINE_BREAK)) frame += `data: ${line}\n`;
  return `${frame}\n`;
}

export function encodeEvent(event: SseEvent): Uint8Array {
  return utf8.encode(formatEvent(event));
}

/** A comment line: ignored by clients, keeps proxies and idle timers from closing the stream. */
export function formatComment(text: string): string {
  return `${text
    .split(LINE_BREAK)
    .map((line) => `: ${line}\n`)
    .join("")}\n`;
}

export function encodeComment(text: string): Uint8Array {
  return utf8.encode(formatComment(text));
}

/** Tells EventSource how long to wait before reconnecting. */
export function formatRetry(milliseconds: number): string {
  if (!Number.isInteger(milliseconds) || milliseconds < 0) {
    throw new RangeError(`retry must be a non-negative integer, got ${milliseconds}`);
  }
  return `retry: ${milliseconds}\n\n`;
}

export function encodeText(text: string): Uint8Array {
  return utf8.encode(text);
}

/** Joins frames into one buffer so a burst of events is a single write. */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  let length = 0;
  for (const chunk of chunks) length += chunk.byteLength;
  const joined = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    joined.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return joined;
}

function assertSafe(field: string, value: string): string {
  if (!isSafeFieldValue(value)) {
    throw new TypeError(`SSE ${field} must not contain CR, LF or NUL`);
  }
  return value;
}
