/**
 * The id rewrite of a multi-channel stream, I/O-free: the `event:` name and
 * the data stay the publisher's, the `id:` becomes the stream's positional
 * cursor (src/edge/multi-cursor.ts), and the relay's own notices
 * (relay.lost), which carry no id, get a `channel` field in their JSON data.
 */
import { encodeText, formatEvent } from "../sse/codec";
import { parseFrames } from "../sse/frames";
import type { CursorView } from "./channel-feed";
import { viewCostMicros } from "./cpu-model";
import { formatCursor } from "./multi-cursor";

/** Rewrites channel `index`'s frames: cursor ids, and the channel named in the relay's own notices. */
export function channelView(index: number, channel: string): CursorView {
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
    return { bytes: encodeText(text), costMicros: viewCostMicros(bytes.byteLength) };
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
