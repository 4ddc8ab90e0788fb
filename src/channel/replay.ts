/**
 * Reading a channel's history as ready-to-send SSE bytes, a page at a
 * time: what a subscriber that is behind gets, in either delivery mode.
 */
import { concatBytes, encodeEvent, encodeText } from "../sse/codec";
import type { ChannelHistory, StoredEvent } from "./history";
import { lostEventsFrame } from "../events/lost-events";
import type { CatchUp } from "./replay-limits";

/** Rows read from SQLite per page. */
const PAGE_ROWS = 64;

export interface ReplayPage {
  /** Frames (and a `relay.lost` notice where history was pruned), ready to write. */
  readonly bytes: Uint8Array;
  /** Id of the last event in `bytes`: the subscriber's new cursor. */
  readonly cursor: number;
}

/**
 * Events after `after` up to `upTo`, at most `maxBytes` of frames (but always
 * at least one event, so one large event never blocks a stream). If events
 * after `after` were pruned, the page starts with `relay.lost`, except for
 * `after` = 0, which means "whatever you have".
 */
export function readPage(history: ChannelHistory, after: number, upTo: number, maxBytes: number): ReplayPage {
  if (after >= upTo) return { bytes: new Uint8Array(0), cursor: after };
  const rows = history.readRange(after, upTo, PAGE_ROWS);
  const chunks: Uint8Array[] = [];
  let size = 0;
  let cursor = after;
  const firstId = rows[0]?.id ?? upTo + 1;
  if (firstId > after + 1) {
    if (after > 0) {
      const lost = encodeText(
        lostEventsFrame({ reason: "history-pruned", lastEventId: after, firstAvailableId: rows[0]?.id ?? null }),
      );
      chunks.push(lost);
      size += lost.byteLength;
    }
    if (rows.length === 0) cursor = upTo;
  }
  for (const event of rows) {
    const frame = encodeStored(event);
    if (cursor > after && size + frame.byteLength > maxBytes) break;
    chunks.push(frame);
    size += frame.byteLength;
    cursor = event.id;
  }
  return { bytes: concatBytes(chunks), cursor };
}

/** A catch-up as the replay gate sees it, and its page when that was read to see it. */
export interface CatchUpPage {
  readonly ask: CatchUp;
  /** The page after `after`, already read when it may be the last one; null otherwise. */
  readonly page: ReplayPage | null;
}

/**
 * How far behind a stream at `after` is (events up to `upTo`, counted
 * without a query), and whether the next page ends its catch-up. That can
 * only be when at most PAGE_ROWS events are left: then the page is read
 * here (the one query serving it costs anyway), and passed on to be sent.
 * A stream with at most that many events left but more bytes than a page
 * reads one page per ask even when it is told to wait; it is near the front
 * of the queue (fewest behind go first), so rarely.
 */
export function catchUpAt(
  history: ChannelHistory,
  after: number,
  upTo: number,
  maxBytes: number,
  client: unknown,
): CatchUpPage {
  if (after >= upTo) return { ask: { client, behind: 0, lastPage: true }, page: null };
  // At least 1: a gap of pruned events past the cursor is still a page to send (the jump, or relay.lost).
  const behind = Math.max(1, history.countBetween(after, upTo));
  const page = behind <= PAGE_ROWS ? readPage(history, after, upTo, maxBytes) : null;
  return { ask: { client, behind, lastPage: page !== null && page.cursor >= upTo }, page };
}

/**
 * Where a subscriber resuming after `after` starts, and what it is told
 * first: an id this channel never issued (history reset, another
 * deployment's id) gets `relay.lost` and everything retained.
 */
export function resumePoint(history: ChannelHistory, after: number): { cursor: number; notice: string | null } {
  if (after <= history.lastEventId) return { cursor: after, notice: null };
  const oldest = history.oldestEventId();
  return {
    cursor: oldest === null ? history.lastEventId : oldest - 1,
    notice: lostEventsFrame({ reason: "unknown-id", lastEventId: after, firstAvailableId: oldest }),
  };
}

export function encodeStored(event: StoredEvent): Uint8Array {
  return encodeEvent({
    id: String(event.id),
    data: event.data,
    ...(event.event === null ? {} : { event: event.event }),
  });
}
