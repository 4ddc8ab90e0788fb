/**
 * The refusals the objects answer a subscribe or attach with (the Worker
 * passes them on to the browser as they are).
 */
import { errorResponse } from "../error-response";

export function channelFull(max: number): Response {
  return errorResponse(
    503,
    "channel_full",
    `This channel has its maximum of ${max} subscribers (MAX_SUBSCRIBERS_PER_CHANNEL); retry later.`,
    { "Retry-After": "5" },
  );
}

export function tooManyStreams(max: number): Response {
  return errorResponse(
    429,
    "too_many_streams",
    `This client already has ${max} streams open on this channel (MAX_STREAMS_PER_CLIENT); close one or retry later.`,
    { "Retry-After": "5" },
  );
}
