/**
 * Validation of what a client puts in a URL or a header: channel names,
 * Last-Event-ID, the media type (publish bodies: src/http/publish-body.ts).
 * Each function either returns a clean typed value or throws an ApiError;
 * nothing here has side effects, so a refused request changes nothing.
 */
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
