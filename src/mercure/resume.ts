/**
 * Where a Mercure subscriber resumes (draft-08 §Reconciliation): after the
 * update its Last-Event-ID names, in hub order, and what the answer's
 * Last-Event-ID header says.
 * - `earliest`: every retained update; the header says `earliest`.
 * - A publisher's id the hub still holds: after its earliest occurrence. The
 *   header names it only to a subscriber that may read that update, so the
 *   header tells nobody that a private update exists.
 * - A position mark `#<n>` (the view writes them while it filters updates
 *   out, see view.ts): after the hub's n-th update, while that lies in the
 *   retained history.
 * - Anything else (never published, pruned): every retained update, and the
 *   header says `earliest`, so the client can tell updates may be lost.
 */
import type { Location } from "../channel/channel-object";
import { EARLIEST, parsePosition } from "./protocol";
import { decodeEnvelope, type MercureUpdate } from "./update";

export interface Resume {
  /** The hub number to resume after (0: from the oldest retained). */
  readonly after: number;
  /** The answer's Last-Event-ID. */
  readonly header: string;
}

const FROM_START: Resume = { after: 0, header: EARLIEST };

export async function resumeFrom(
  requested: string,
  locate: (id: string) => Promise<Location>,
  mayRead: (update: MercureUpdate) => boolean,
): Promise<Resume> {
  if (requested === EARLIEST) return FROM_START;
  const location = await locate(requested);
  const position = parsePosition(requested);
  if (position !== null) {
    const retained =
      position <= location.last &&
      (location.oldest === null ? position === location.last : position >= location.oldest - 1);
    return retained ? { after: position, header: requested } : FROM_START;
  }
  if (location.id === null || location.data === null) return FROM_START;
  let readable = false;
  try {
    readable = mayRead(decodeEnvelope(location.data));
  } catch {
    // Not an update (cannot happen for ids the hub mapped): name nothing.
  }
  return { after: location.id, header: readable ? requested : EARLIEST };
}
