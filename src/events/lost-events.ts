/**
 * The relay's own "you missed events" signal. A client that resumes from an
 * id older than the retained history (or from an id this channel never
 * issued) gets this named event first, then everything still retained.
 *
 * Browser: es.addEventListener("relay.lost", (e) => JSON.parse(e.data))
 * The frame carries no `id:` so it does not move the client's lastEventId.
 */
import { formatEvent } from "../sse/codec";
import { RESERVED_EVENT_PREFIX } from "./event-rules";

/** In the relay's reserved namespace, so no publisher can forge it. */
export const LOST_EVENT_NAME = `${RESERVED_EVENT_PREFIX}lost`;

export interface LostEvents {
  /** `history-pruned`: the events after lastEventId were dropped from history.
   *  `unknown-id`: lastEventId was never issued by this channel (e.g. its history was reset). */
  readonly reason: "history-pruned" | "unknown-id";
  /** The id the client resumed from. */
  readonly lastEventId: number;
  /** Oldest event still retained (what replay starts with), or null if none. */
  readonly firstAvailableId: number | null;
}

/** Wire payload: ids as strings, like EventSource's lastEventId. */
interface LostEventsPayload {
  readonly reason: LostEvents["reason"];
  readonly lastEventId: string;
  readonly firstAvailableId: string | null;
}

export function lostEventsFrame(lost: LostEvents): string {
  const payload: LostEventsPayload = {
    reason: lost.reason,
    lastEventId: String(lost.lastEventId),
    firstAvailableId: lost.firstAvailableId === null ? null : String(lost.firstAvailableId),
  };
  return formatEvent({ event: LOST_EVENT_NAME, data: JSON.stringify(payload) });
}
