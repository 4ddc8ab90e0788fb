/**
 * What one Mercure subscriber sees of the hub's log: the bridged stream
 * hands every chunk of the sequencing object's frames to this view, which
 * keeps the updates one of the subscriber's matchers selects and its token
 * (or anonymous access) lets it read, and writes them as Mercure events
 * (the publisher's id as `id:`, its type as `event:`). The cursor stays on
 * the hub's own numbers (see FrameView), so a filtered-out update still
 * moves the stream past it.
 *
 * Position marks. A browser resumes from the last id it saw; a subscriber
 * of a rare topic on a busy hub would resume from far back each time and
 * replay (and filter) the same span again, and a span longer than what one
 * connection may replay would never be crossed. So once enough updates were
 * filtered out since the last id written, the view writes an id-only frame,
 * `id: #…` (the opaque mark of the hub's number n): EventSource takes it as
 * its last event id without firing an event (WHATWG "dispatch the event",
 * step 1-2), and the hub resumes after position n (see cursor.ts, which
 * also says what marks reveal).
 *
 * An update with several topics (a canonical topic and alternate ones) is
 * written once however many of its topics match.
 *
 * CPU. Each update read costs the stream its matchers' cost (and, for a
 * private update, its token's) x the length of the update's topics
 * (matchingCost, CPU_MODEL.matcherNanos), whether it is written or not: a
 * hostile but accepted set of patterns on a busy hub ends its own stream
 * sooner, never spends more of the invocation than the budget allows.
 */
import type { FrameView } from "../edge/channel-feed";
import { matchingCostMicros, viewCostMicros } from "../edge/cpu-model";
import { encodeText } from "../sse/codec";
import { parseFrames } from "../sse/frames";
import { type MercureGrant, mayReceive } from "./auth";
import { type Matcher, matchesAny, matchingCost } from "./matchers";
import type { PositionMarks } from "./cursor";
import { decodeEnvelope, formatMercureEvent, type MercureUpdate } from "./update";

/** Filtered-out updates, or their bytes, after which a position mark is written. */
const MARK_AFTER = { updates: 16, bytes: 16_384 } as const;

/**
 * A Mercure stream's resume point (see PositionWriter): the id-only mark, since the protocol has no
 * event type for it; EventSource takes it as its last event id.
 */
export const mercurePosition =
  (marks: PositionMarks) =>
  (cursors: readonly number[]): string =>
    `id: ${marks.mark(cursors[0] ?? 0)}\n\n`;

export function mercureView(
  matchers: readonly Matcher[],
  grant: MercureGrant | null,
  anonymous: boolean,
  marks: PositionMarks,
): FrameView {
  let skippedUpdates = 0;
  let skippedBytes = 0;
  const selectorCost = matchingCost(matchers);
  const grantCost = grant === null ? 0 : matchingCost(grant.matchers);
  return (frames) => {
    let out = "";
    let position: number | null = null;
    let work = 0;
    for (const frame of parseFrames(frames)) {
      // The relay's own notices (relay.lost) carry no id and are not updates.
      if (frame.id === null) continue;
      position = frame.id;
      const { update, event } = decoded(frame.data);
      if (update !== null) {
        const characters = update.topics.reduce((sum, topic) => sum + topic.length, 0);
        work += (selectorCost + (update.private ? grantCost : 0)) * characters;
      }
      if (update !== null && matchesAny(matchers, update.topics) && mayReceive(grant, update, anonymous)) {
        out += event;
        skippedUpdates = 0;
        skippedBytes = 0;
      } else {
        skippedUpdates += 1;
        skippedBytes += frame.data.length;
      }
    }
    if (position !== null && (skippedUpdates >= MARK_AFTER.updates || skippedBytes >= MARK_AFTER.bytes)) {
      out += `id: ${marks.mark(position)}\n\n`;
      skippedUpdates = 0;
      skippedBytes = 0;
    }
    return { bytes: encodeText(out), costMicros: viewCostMicros(frames.byteLength) + matchingCostMicros(work) };
  };
}

/**
 * Every subscriber in an isolate reads the same updates: each envelope is parsed and its Mercure
 * event formatted once, and the last few hundred kept (keyed by their text, so a reused number can
 * never return another update).
 */
interface Decoded {
  /** null: not an update (nothing but the hub writes here): skipped, never fatal to the stream. */
  readonly update: MercureUpdate | null;
  readonly event: string;
}
const DECODED = new Map<string, Decoded>();
const DECODED_MAX = 256;

function decoded(envelope: string): Decoded {
  let entry = DECODED.get(envelope);
  if (entry !== undefined) return entry;
  try {
    const update = decodeEnvelope(envelope);
    entry = { update, event: formatMercureEvent(update) };
  } catch {
    entry = { update: null, event: "" };
  }
  if (DECODED.size >= DECODED_MAX) DECODED.delete(DECODED.keys().next().value as string);
  DECODED.set(envelope, entry);
  return entry;
}
