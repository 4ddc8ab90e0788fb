/**
 * Why a subscriber's stream ended: one list for both delivery modes.
 * A clean end flushes the stream's queued bytes (and its resume point);
 * the others drop the unsent backlog (src/stream/outlet.ts). Either way
 * the body closes and EventSource resumes with Last-Event-ID after the
 * last whole event it got.
 */
export type CloseReason =
  /** The client went away (stream cancelled, request aborted). */
  | "disconnected"
  /** Direct mode: a live reader already half its byte budget behind was handed more (it resumes from history). */
  | "overflow"
  /** Nothing drained at consecutive heartbeat ticks while data waited: a dead peer (see stall-rule.ts). */
  | "stalled"
  /** MAX_STREAM_SECONDS reached, or the stream's token expired. */
  | "expired"
  /** The stream spent its modelled CPU budget or its share of history replay. */
  | "rotated"
  /** The channel could not be reached (history read or re-dials failed). */
  | "unavailable";

export function endsCleanly(reason: CloseReason): boolean {
  return reason === "expired" || reason === "rotated" || reason === "unavailable";
}

/** The ends a channel counts in its stats (closedStreams), in both modes. */
export type CountedClose = "overflow" | "stalled" | "expired";
export type ClosedStreams = Record<CountedClose, number>;

export function isCounted(reason: CloseReason): reason is CountedClose {
  return reason === "overflow" || reason === "stalled" || reason === "expired";
}
