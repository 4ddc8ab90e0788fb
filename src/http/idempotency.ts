/**
 * Idempotent publishing: a publish carrying `Idempotency-Key` that is
 * retried (same key, same events) gets the same ids back and is delivered
 * once. The channel object remembers keys for IDEMPOTENCY_TTL_SECONDS; the
 * fingerprint (SHA-256 of the whole request: every channel and its events)
 * tells a true retry from a different request that reuses a key (refused
 * with 422, before anything is stored).
 */
import type { EventInput, IdempotencyRequest } from "../events/events";
import { ApiError } from "./errors";

export const IDEMPOTENCY_HEADER = "Idempotency-Key";

/** Printable ASCII without spaces, as in the IETF Idempotency-Key draft's common practice. */
const KEY = /^[\x21-\x7E]{1,255}$/;

export function parseIdempotencyKey(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!KEY.test(value)) {
    throw new ApiError(
      400,
      "invalid_idempotency_key",
      "Idempotency-Key must be 1 to 255 printable ASCII characters without spaces.",
    );
  }
  return value;
}

/** A request's events by channel: one entry for a single publish, one per channel for a batch. */
export type ChannelEvents = readonly (readonly [channel: string, events: readonly EventInput[]])[];

export async function idempotencyFor(
  key: string | undefined,
  groups: ChannelEvents,
): Promise<IdempotencyRequest | undefined> {
  if (key === undefined) return undefined;
  const canonicalGroup = ([channel, events]: ChannelEvents[number]) => [
    channel,
    events.map((event) => [event.event ?? null, event.data]),
  ];
  // One channel keeps the form fingerprints had before batches covered every channel.
  const sorted = [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const canonical = JSON.stringify(sorted.length === 1 ? canonicalGroup(sorted[0]!) : sorted.map(canonicalGroup));
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonical));
  const fingerprint = [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
  return { key, fingerprint };
}
