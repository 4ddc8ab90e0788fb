/**
 * Multi-channel streams on hot channels: past FANOUT_THRESHOLD (3 here) each channel sends the
 * stream to one of its fan-out objects, per channel; a fan-out object evicted with its sockets
 * closed is re-dialled. Every stream gets every event of every channel once, in order.
 */
import { SELF, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { restart } from "../restart";
import { BASE, freshChannel, publishData, stats } from "../relay-client";
import { readStream, type StreamReader } from "../sse-reader";

async function openMany(channels: readonly string[]): Promise<StreamReader> {
  const response = await SELF.fetch(`${BASE}/v1/events?${channels.map((c) => `channel=${c}`).join("&")}`);
  if (response.status !== 200) throw new Error(`subscribe failed: ${response.status} ${await response.text()}`);
  const reader = readStream(response);
  await reader.waitForComment((comment) => comment.trim() === "connected");
  return reader;
}

/** Per channel index, the channel's own ids the stream got. */
function idsByChannel(reader: StreamReader, channels: number): number[][] {
  const result: number[][] = Array.from({ length: channels }, () => []);
  for (const event of reader.events) {
    const [k, rest] = event.id!.split(":");
    result[Number(k)]!.push(Number(rest!.split(".")[Number(k)]));
  }
  return result;
}

describe("multi-channel streams through fan-out objects", () => {
  it("8 streams on two channels: fan-out on both, restarts re-dialled, every event once and in order", async () => {
    const channels = [freshChannel(), freshChannel()];
    const streams: StreamReader[] = [];
    for (let n = 0; n < 8; n++) streams.push(await openMany(channels));
    for (const channel of channels) {
      const counted = await stats(channel);
      expect(counted.subscribers).toBe(8);
      expect(counted.fanouts.length).toBeGreaterThan(0);
    }
    for (let n = 1; n <= 3; n++) for (const channel of channels) await publishData(channel, `e${n}`);
    for (const stream of streams) await stream.waitForEvents(6);
    // Every fan-out object of the first channel restarts, closing its sockets; the streams re-dial.
    for (const { name } of (await stats(channels[0]!)).fanouts) {
      await restart(env.FANOUTS.get(env.FANOUTS.idFromName(name)));
    }
    for (let n = 4; n <= 6; n++) for (const channel of channels) await publishData(channel, `e${n}`);
    for (const stream of streams) {
      await stream.waitForEvents(12);
      expect(idsByChannel(stream, 2)).toEqual([
        [1, 2, 3, 4, 5, 6],
        [1, 2, 3, 4, 5, 6],
      ]);
      await stream.cancel();
    }
  });
});
