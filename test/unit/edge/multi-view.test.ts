/** The id rewrite of a multi-channel stream (src/edge/multi-view.ts), frame by frame. */
import { describe, expect, it } from "vitest";
import { lostEventsFrame } from "../../../src/events/lost-events";
import { channelView } from "../../../src/edge/multi-view";
import { encodeEvent, encodeText } from "../../../src/sse/codec";

const text = ({ bytes }: { bytes: Uint8Array }) => new TextDecoder().decode(bytes);

describe("channelView", () => {
  it("gives each frame of a batch the cursor at that frame, keeping name and data", () => {
    const batch = new Uint8Array([
      ...encodeEvent({ id: "8", data: "a\nb" }),
      ...encodeEvent({ id: "9", event: "named", data: "" }),
    ]);
    // Channel 1 of three; the feeds' cursors (channel 1's is already past the batch).
    expect(text(channelView(1, "chat")(batch, [17, 9, 0]))).toBe(
      "id: 1:17.8.0\ndata: a\ndata: b\n\nid: 1:17.9.0\nevent: named\ndata: \n\n",
    );
  });

  it("names the channel in the relay's own notices, which keep no id", () => {
    const notice = encodeText(lostEventsFrame({ reason: "history-pruned", lastEventId: 3, firstAvailableId: 7 }));
    const [frame] = text(channelView(0, "orders")(notice, [6])).split("\n");
    expect(frame).toBe("event: relay.lost");
    expect(JSON.parse(text(channelView(0, "orders")(notice, [6])).split("data: ")[1]!)).toEqual({
      reason: "history-pruned",
      lastEventId: "3",
      firstAvailableId: "7",
      channel: "orders",
    });
  });
});
