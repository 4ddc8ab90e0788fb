/**
 * Several channels on one browser stream: one ChannelFeed per channel (its
 * own socket, cursor, catch-up and re-dials; see src/edge/channel-feed.ts)
 * writing into one outgoing stream (src/edge/bridged-stream.ts). Each
 * channel's frames are rewritten on the way out (src/edge/multi-view.ts).
 */
import type { BridgeTarget } from "./attach";
import { positionFrame } from "../events/position-event";
import { type BridgeSettings, openFeeds } from "./bridged-stream";
import { formatCursor } from "./multi-cursor";
import { channelView } from "./multi-view";

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
  // The resume point holds every channel's position (index 0: any index resumes the same).
  return openFeeds(specs, settings, signal, (cursors) => positionFrame(formatCursor(0, cursors)));
}
