/**
 * What one Mercure subscriber sees of the hub's log: the bridged stream
 * hands every chunk of the sequencing object's frames to this view, which
 * keeps the updates one of the subscriber's matchers selects and its token
 * (or anonymous access) lets it read, and writes them as Mercure events
 * (the publisher's id as `id:`, its type as `event:`). The cursor stays on
 * the hub's own numbers (see FrameView), so a filtered-out update still
 * moves the stream past it.
 *
 * An update with several topics (pre-standard protocol) is written once
 * however many of its topics match.
 */
import type { FrameView } from "../edge/channel-feed";
import { encodeText } from "../sse/codec";
import { parseFrames } from "../sse/frames";
import { type MercureGrant, mayReceive } from "./auth";
import { type Matcher, matchesAny } from "./matchers";
import { decodeEnvelope, formatMercureEvent } from "./update";

export function mercureView(matchers: readonly Matcher[], grant: MercureGrant | null, anonymous: boolean): FrameView {
  return (frames) => {
    let out = "";
    for (const frame of parseFrames(frames)) {
      // The relay's own notices (relay.lost) carry no id and are not updates.
      if (frame.id === null) continue;
      const update = decodeEnvelope(frame.data);
      if (matchesAny(matchers, update.topics) && mayReceive(grant, update, anonymous))
        out += formatMercureEvent(update);
    }
    return encodeText(out);
  };
}
