/**
 * The view hook of a bridged stream (src/edge/bridged-stream.ts): every chunk of channel frames
 * passes through it, live and from history, and the cursor stays on the channel's own ids.
 */
import { bridgeSettings } from "../../../src/edge/bridge-options";
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { configFromEnv } from "../../../src/config";
import { openBridgedStream } from "../../../src/edge/bridged-stream";
import type { FrameView } from "../../../src/edge/channel-feed";
import { log } from "../../../src/log";
import { encodeText, formatEvent } from "../../../src/sse/codec";
import { parseFrames } from "../../../src/sse/frames";
import { freshChannel, publishData } from "../relay-client";
import { readStream } from "../sse-reader";

async function open(channel: string, after: number | undefined, view: FrameView) {
  const config = configFromEnv(env);
  const response = await openBridgedStream(
    { channel, client: null, region: "any", channels: env.CHANNELS, fanouts: env.FANOUTS, log },
    after,
    // Ends a minute from now, like a token expiring then.
    bridgeSettings(config, Date.now() + 60_000),
    undefined,
    view,
  );
  if (response === null || response.status !== 200) throw new Error(`open failed: ${response?.status}`);
  const reader = readStream(response);
  await reader.waitForComment((comment) => comment.trim() === "connected");
  return reader;
}

/** Drops odd-numbered events and upper-cases the data of the others. */
function evenUpper(seen: number[][]): FrameView {
  return (bytes) => {
    const frames = parseFrames(bytes);
    seen.push(frames.map((frame) => frame.id ?? -1));
    const kept = frames.filter((frame) => frame.id !== null && frame.id % 2 === 0);
    const text = kept.map((f) => formatEvent({ id: String(f.id), data: f.data.toUpperCase() })).join("");
    return { bytes: encodeText(text), costMicros: 0 };
  };
}

describe("bridged stream view", () => {
  it("rewrites history pages and live batches; dropped events still move the cursor", async () => {
    const channel = freshChannel();
    for (const data of ["a", "b", "c"]) await publishData(channel, data);
    const seen: number[][] = [];
    const reader = await open(channel, 0, evenUpper(seen));
    await reader.waitForEvents(1);
    for (const data of ["d", "e", "f"]) await publishData(channel, data);
    const events = await reader.waitForEvents(3);
    expect(events.map((event) => [event.id, event.data])).toEqual([
      ["2", "B"],
      ["4", "D"],
      ["6", "F"],
    ]);
    // Every event went through the view exactly once, in order.
    expect(seen.flat()).toEqual([1, 2, 3, 4, 5, 6]);
    await reader.cancel();
  });

  it("an unknown Last-Event-ID's relay.lost notice passes through the view", async () => {
    const channel = freshChannel();
    await publishData(channel, "a");
    const seen: (number | null)[] = [];
    const reader = await open(channel, 99, (bytes) => {
      for (const frame of parseFrames(bytes)) seen.push(frame.id);
      return { bytes, costMicros: 0 };
    });
    const [lost, first] = await reader.waitForEvents(2);
    expect(lost!.event).toBe("relay.lost");
    expect(first!.id).toBe("1");
    expect(seen).toEqual([null, 1]);
    await reader.cancel();
  });
});
