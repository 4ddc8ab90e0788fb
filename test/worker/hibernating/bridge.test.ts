/**
 * Hibernating delivery: the Worker holds the SSE stream, the channel object
 * feeds it over a hibernatable WebSocket. What only this mode promises.
 */
import { SELF, env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ChannelObject } from "../../../src/objects/channel-object";
import { BRIDGE_PROTOCOL } from "../../../src/protocol/bridge-protocol";
import { BASE, fetchWithEnv, freshChannel, publishData, stats, subscribe } from "../relay-client";
import { eventually, readStream } from "../sse-reader";

function channelStub(channel: string): DurableObjectStub<ChannelObject> {
  return env.CHANNELS.get(env.CHANNELS.idFromName(channel));
}

/** Marks the live instance; a new instance (after hibernation or a restart) has no mark. */
function mark(channel: string): Promise<void> {
  return runInDurableObject(channelStub(channel), (instance) => {
    (instance as unknown as { testMark?: boolean }).testMark = true;
  });
}

function isMarked(channel: string): Promise<boolean> {
  return runInDurableObject(channelStub(channel), (instance) =>
    Boolean((instance as unknown as { testMark?: boolean }).testMark),
  );
}

function ids(events: readonly { id?: string | undefined }[]): number[] {
  return events.map((event) => Number(event.id));
}

describe("hibernating delivery", () => {
  it("subscribers stay connected while the idle channel object is evicted; the next publish reaches each once", async () => {
    const channel = freshChannel();
    await publishData(channel, "before");
    const streams = await Promise.all([1, 2, 3].map(() => subscribe(channel)));
    await mark(channel);
    // Eviction waits for in-flight requests: it only completes because the object holds none
    // (its subscribers are hibernatable sockets) and no timer.
    await evictDurableObject(channelStub(channel));
    await publishData(channel, "after");
    for (const stream of streams) {
      const events = await stream.waitForEvents(1);
      expect(events.map((event) => event.data)).toEqual(["after"]);
    }
    expect(await isMarked(channel)).toBe(false); // the constructor ran again: it really left memory
    await publishData(channel, "marker");
    for (const stream of streams) {
      await stream.waitForEvents(2);
      expect(ids(stream.events)).toEqual([2, 3]);
    }
    expect((await stats(channel)).subscribers).toBe(3);
    await Promise.all(streams.map((stream) => stream.cancel()));
  });

  it("an object restart that closes every socket mid-burst: each stream goes on, contiguous, without a reconnect", async () => {
    const channel = freshChannel();
    const streams = await Promise.all([1, 2, 3].map(() => subscribe(channel)));
    const burst = Array.from({ length: 30 }, (_, index) => index);
    let evicted = false;
    for (const index of burst) {
      await publishData(channel, `e${index}`);
      if (index === 12 && !evicted) {
        evicted = true;
        await evictDurableObject(channelStub(channel), { webSockets: "close" });
      }
    }
    for (const stream of streams) {
      await stream.waitForEvents(30);
      expect(ids(stream.events)).toEqual(burst.map((index) => index + 1));
    }
    await Promise.all(streams.map((stream) => stream.cancel()));
  });

  it("an event committed just before the object dies still arrives on a quiet channel", async () => {
    const channel = freshChannel();
    const stream = await subscribe(channel);
    await publishData(channel, "one");
    await stream.waitForEvents(1);
    // Store an event without handing it out, then reset the object: as if it died between the two.
    await runInDurableObject(channelStub(channel), async (instance, state) => {
      (instance as unknown as { history: { append(events: { data: string }[]): unknown } }).history.append([
        { data: "stored, never pushed" },
      ]);
      await state.storage.sync();
      state.abort("simulated crash between commit and push");
    }).catch(() => {});
    // No further publish: the Worker re-dials, learns the channel is at 2, and reads it from history.
    const events = await stream.waitForEvents(2);
    expect(events.map((event) => event.data)).toEqual(["one", "stored, never pushed"]);
    await stream.cancel();
  });

  it("a reader that stops reading holds at most its budget in the Worker; the others get every event", async () => {
    const channel = freshChannel();
    const healthy = await subscribe(channel);
    const stuck = await SELF.fetch(`${BASE}/v1/channels/${channel}/events`); // never read
    await eventually(async () => (await stats(channel)).subscribers === 2);
    const payload = "x".repeat(4_000); // STREAM_BUFFER_BYTES is 32768 in tests
    for (let index = 0; index < 40; index++) await publishData(channel, `${index}:${payload}`);
    const events = await healthy.waitForEvents(40);
    expect(events.map((event) => event.data.split(":")[0])).toEqual(Array.from({ length: 40 }, (_, i) => String(i)));
    // The stuck stream drained nothing between two heartbeat ticks: cut as stalled, counted by the object.
    await eventually(async () => (await stats(channel)).closedStreams.stalled === 1);
    const body = await stuck.arrayBuffer().catch(() => new ArrayBuffer(0));
    // What it was handed is bounded by the budget plus one frame (and the greeting), not 40 × 4 KB.
    expect(body.byteLength).toBeLessThanOrEqual(32_768 + 2 * 4_100);
    await healthy.cancel();
  });

  it("a stream ends cleanly before its modelled CPU budget; resuming with Last-Event-ID misses nothing", async () => {
    const channel = freshChannel();
    // 1 ms of modelled CPU: about 15 writes, then a clean end (as EventSource sees a server close).
    const open = (lastEventId?: string) =>
      fetchWithEnv(
        { STREAM_CPU_BUDGET_MS: "1" },
        new Request(`${BASE}/v1/channels/${channel}/events`, {
          headers: lastEventId ? { "Last-Event-ID": lastEventId } : {},
        }),
      );
    const first = readStream(await open());
    await first.waitForComment((comment) => comment.trim() === "connected");
    const total = 18; // within HISTORY_LIMIT (20), so resuming never meets pruned history
    for (let index = 1; index <= total; index++) await publishData(channel, `e${index}`);
    await first.ended;
    expect(first.events.length).toBeGreaterThan(0);
    expect(first.events.length).toBeLessThan(total);
    const received = [...first.events];
    while (received.length < total) {
      const next = readStream(await open(received[received.length - 1]!.id));
      // Either it rotates again, or it has caught up with everything and stays open.
      await Promise.race([next.ended, next.waitForEvents(total - received.length)]);
      await next.cancel();
      received.push(...next.events);
    }
    expect(ids(received)).toEqual(Array.from({ length: total }, (_, index) => index + 1));
  });

  it("an object refuses a bridge protocol version it does not speak", async () => {
    const channel = freshChannel();
    const response = await channelStub(channel).fetch("https://channel/attach", {
      headers: { Upgrade: "websocket", "Sec-WebSocket-Protocol": "relay.v0", "X-Relay-Channel": channel },
    });
    expect(response.status).toBe(400);
    expect(response.headers.get("X-Relay-Protocols")).toBe(BRIDGE_PROTOCOL);
    expect(await response.json()).toMatchObject({ error: "unsupported_protocol" });
  });
});
