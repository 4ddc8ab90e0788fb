/**
 * Several channels on one browser stream: one ChannelFeed per channel (its
 * own socket, cursor, catch-up and re-dials; see src/edge/channel-feed.ts)
 * writing into one outgoing stream (src/edge/bridged-stream.ts). Each
 * channel's frames are rewritten on the way out: the `event:` name and the
 * data stay the publisher's, the `id:` becomes the stream's positional
 * cursor (src/edge/multi-cursor.ts), and the relay's own notices
 * (relay.lost), which carry no id, get a `channel` field in their JSON data.
 */
import { encodeText, formatEvent } from "../sse/codec";
import { parseFrames } from "../sse/frames";
import type { BridgeTarget } from "./attach";
import { type BridgeSettings, openFeeds } from "./bridged-stream";
import type { CursorView } from "./channel-feed";
import { formatCursor } from "./multi-cursor";

/**
 * Opens the stream: `after` holds every channel's position from a cursor,
 * or is undefined for a stream that starts at each channel's live end.
 * The whole stream is refused if one channel refuses (503 channel_full, 429…).
 */
export function openMultiStream(
  targets: readonly BridgeTarget[],
  after: readonly (number | undefined)[] | undefined,
  settings: BridgeSettings,
  signal: AbortSignal | undefined,
): Promise<Response | null> {
  const specs = targets.map((target, index) => ({
    target,
    after: after?.[index],
    view: channelView(index, target.channel),
  }));
  return openFeeds(specs, settings, signal);
}

/** Rewrites channel `index`'s frames: cursor ids, and the channel named in the relay's own notices. */
function channelView(index: number, channel: string): CursorView {
  return (bytes, cursors) => {
    const positions = [...cursors];
    let text = "";
    for (const frame of parseFrames(bytes)) {
      const event = frame.event === null ? {} : { event: frame.event };
      if (frame.id === null) {
        text += formatEvent({ ...event, data: withChannel(frame.data, channel) });
        continue;
      }
      positions[index] = frame.id;
      text += formatEvent({ ...event, id: formatCursor(index, positions), data: frame.data });
    }
    return encodeText(text);
  };
}

/** A relay notice's JSON object with `channel` added; other data unchanged. */
function withChannel(data: string, channel: string): string {
  try {
    const value: unknown = JSON.parse(data);
    if (typeof value === "object" && value !== null && !Array.isArray(value))
      return JSON.stringify({ ...value, channel });
  } catch {
    // Not JSON: passed on as it is.
  }
  return data;
}
