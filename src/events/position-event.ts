/**
 * The relay's "you are here" signal: a stream's resume point, written in
 * its first bytes (right after any relay.lost notice, before any event) and
 * again before a clean end if the stream moved past the last id it wrote.
 *
 * Without it a stream the relay ends before its first event (lifetime, CPU
 * budget, an unavailable object, token expiry) leaves EventSource with no
 * last event id, and the reconnect starts "from now": whatever was
 * published in between would be lost.
 *
 * Why a named event and not an id-only frame (`id: 7` and a blank line):
 * browsers take an id-only frame as their last event id, but some clients
 * (older `eventsource`/`eventsource-parser`, hand-written readers) drop a
 * frame without data. A named event with an empty `data:` line is
 * dispatched, and its id recorded, by every conforming client; no handler
 * sees it unless it listens for `relay.position`.
 *
 * Browser: nothing to do (EventSource sends it back as Last-Event-ID).
 */
import { formatEvent } from "../sse/codec";
import { RESERVED_EVENT_PREFIX } from "./event-rules";

/** In the relay's reserved namespace, so no publisher can forge it. */
export const POSITION_EVENT_NAME = `${RESERVED_EVENT_PREFIX}position`;

/** The frame that sets a client's last event id to `id` (a channel id, or a multi-channel cursor). */
export function positionFrame(id: string): string {
  return formatEvent({ id, event: POSITION_EVENT_NAME, data: "" });
}
