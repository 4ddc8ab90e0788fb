/** The Subscriber stream on its own: what a heartbeat tick writes, and when it calls a stream stalled. */
import { describe, expect, it } from "vitest";
import { Subscriber, type CloseReason } from "../../src/channel/subscriber";
import { positionFrame } from "../../src/channel/position-event";
import { encodeComment, encodeText } from "../../src/sse/codec";

const HEARTBEAT = encodeComment("heartbeat");

function open(closed: CloseReason[] = []) {
  const subscriber = new Subscriber({
    cursor: 0,
    live: true,
    maxBufferedBytes: 1_000,
    closeAt: Number.POSITIVE_INFINITY,
    onDemand: () => {},
    onClose: (_s, reason) => closed.push(reason),
    position: (cursor) => encodeText(positionFrame(String(cursor))),
  });
  const reader = subscriber.stream.getReader();
  const decoder = new TextDecoder();
  /** Reads what is queued now (a pending read takes each chunk as it is written). */
  const drain = async () => {
    let text = "";
    while (subscriber.bufferedBytes > 0) text += decoder.decode((await reader.read()).value);
    return text;
  };
  return { subscriber, drain };
}

describe("Subscriber heartbeat ticks", () => {
  it("write a heartbeat only to a stream that carried nothing since the last tick", async () => {
    const { subscriber, drain } = open();
    subscriber.heartbeat(HEARTBEAT);
    expect(await drain()).toBe(": heartbeat\n\n");
    subscriber.push(encodeText("data: x\n\n"));
    expect(await drain()).toBe("data: x\n\n");
    subscriber.heartbeat(HEARTBEAT); // data flowed since the last tick: no comment needed
    expect(subscriber.bufferedBytes).toBe(0);
    subscriber.heartbeat(HEARTBEAT); // idle since: keep-alive again
    expect(await drain()).toBe(": heartbeat\n\n");
  });

  it("report a stream that drained nothing while data waited as stalled, and leave closing to the channel", () => {
    const closed: CloseReason[] = [];
    const { subscriber } = open(closed);
    subscriber.push(encodeText("data: never read\n\n"));
    expect(subscriber.heartbeat(HEARTBEAT)).toBe("stalled");
    expect(closed).toEqual([]);
  });
});
