import { SELF, env, evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { crash } from "./restart";
import { BASE, DELIVERY_MODE, freshChannel, publishData, stats, subscribe } from "./relay-client";
import { eventually } from "./sse-reader";

describe("subscriber lifecycle", () => {
  it("the count stays exact through the channel object's hibernation and restart", async () => {
    const channel = freshChannel();
    const stub = env.CHANNELS.get(env.CHANNELS.idFromName(channel));
    let streams = await Promise.all([1, 2, 3].map(() => subscribe(channel)));
    expect((await stats(channel)).subscribers).toBe(3);
    if (DELIVERY_MODE === "hibernating") {
      // Hibernation: the object leaves memory, its sockets stay and are counted again when it wakes.
      await evictDurableObject(stub);
      expect((await stats(channel)).subscribers).toBe(3);
    }
    // A restart: hibernating streams re-dial with their cursors (the same three, never more); direct
    // streams end with the object, and their clients come back.
    await crash(stub, "simulated restart");
    if (DELIVERY_MODE === "direct") {
      await Promise.all(streams.map((stream) => stream.ended));
      expect((await stats(channel)).subscribers).toBe(0);
      streams = await Promise.all([1, 2, 3].map(() => subscribe(channel)));
    }
    await eventually(async () => (await stats(channel)).subscribers === 3);
    // Every stream is really there: an event reaches each exactly once.
    await publishData(channel, "after");
    for (const stream of streams) {
      await stream.waitForEvents(1);
      expect(stream.events.map((event) => event.data)).toEqual(["after"]);
    }
    expect((await stats(channel)).subscribers).toBe(3);
    await Promise.all(streams.map((stream) => stream.cancel()));
    await eventually(async () => (await stats(channel)).subscribers === 0);
  });

  it("counts a subscriber out when its client goes away, as a disconnect (not a stall or overflow)", async () => {
    const channel = freshChannel();
    const streams = await Promise.all([1, 2, 3].map(() => subscribe(channel)));
    expect((await stats(channel)).subscribers).toBe(3);
    await streams[0]!.cancel();
    await eventually(async () => (await stats(channel)).subscribers === 2);
    await Promise.all(streams.slice(1).map((stream) => stream.cancel()));
    await eventually(async () => (await stats(channel)).subscribers === 0);
    // Counted out by the cancel itself: no stall check or budget had to find them.
    expect((await stats(channel)).closedStreams).toEqual({ overflow: 0, stalled: 0, expired: 0 });
  });

  it("a stream that drains nothing for a heartbeat interval is treated as gone (stalled)", async () => {
    const channel = freshChannel();
    const stuck = await SELF.fetch(`${BASE}/v1/channels/${channel}/events`);
    await eventually(async () => (await stats(channel)).subscribers === 1);
    // 24 KB in all, under the 32 KiB budget: overflow cannot be what removes it, only the stall check.
    for (let index = 0; index < 6; index++) await publishData(channel, "y".repeat(4_000));
    await eventually(async () => (await stats(channel)).subscribers === 0);
    expect((await stats(channel)).closedStreams).toEqual({ overflow: 0, stalled: 1, expired: 0 });
    await stuck.body?.cancel().catch(() => {});
  });

  it("one client's streams that never read are cut as stalled even when they are most of the channel's (it cannot claim the overload exemption)", async () => {
    const channel = freshChannel();
    // Three streams of one client (its share is 3 in tests) that never read, and two readers: most of the
    // channel's streams look stalled, but they are one client's, and one client counts once.
    const stuck = await Promise.all(
      [1, 2, 3].map(() =>
        SELF.fetch(`${BASE}/v1/channels/${channel}/events`, { headers: { "CF-Connecting-IP": "203.0.113.50" } }),
      ),
    );
    await eventually(async () => (await stats(channel)).subscribers === 3);
    const readers = [await subscribe(channel), await subscribe(channel)];
    for (let index = 0; index < 4; index++) await publishData(channel, "s".repeat(4_000)); // within every budget
    for (const reader of readers) await reader.waitForEvents(4);
    await eventually(async () => {
      const now = await stats(channel);
      return now.subscribers === 2 && now.closedStreams.stalled === 3;
    });
    await Promise.all(stuck.map((response) => response.body?.cancel().catch(() => {})));
    await Promise.all(readers.map((reader) => reader.cancel()));
  });

  // That they are not cut at the second tick, while the process looks behind, is shown on a fake clock
  // (test/worker/stream-ticks.test.ts): here, in real time on a busy machine, the reader's heartbeats
  // cannot say which tick the stalled streams are at, so a snapshot between the two would be a race.
  it("streams of many clients stalled at once are reaped all the same after MAX_STALLED_TICKS, in both modes", async () => {
    const channel = freshChannel();
    const stuck = await Promise.all(
      ["192.0.2.11", "192.0.2.12", "192.0.2.13"].map((address) =>
        SELF.fetch(`${BASE}/v1/channels/${channel}/events`, { headers: { "CF-Connecting-IP": address } }),
      ),
    );
    await eventually(async () => (await stats(channel)).subscribers === 3);
    const reader = await subscribe(channel);
    for (let index = 0; index < 4; index++) await publishData(channel, "s".repeat(4_000));
    await reader.waitForEvents(4);
    // No exemption lasts: after MAX_STALLED_TICKS without draining, they are reaped all the same,
    // as stalled (not for overflow or anything else), and the reader is left alone.
    await eventually(async () => (await stats(channel)).closedStreams.stalled === 3);
    expect(await stats(channel)).toMatchObject({
      subscribers: 1,
      closedStreams: { overflow: 0, stalled: 3, expired: 0 },
    });
    expect(reader.events).toHaveLength(4);
    await Promise.all(stuck.map((response) => response.body?.cancel().catch(() => {})));
    await reader.cancel();
  });

  it("a burst bigger than a healthy subscriber's budget is streamed to it from history, not cut", async () => {
    const channel = freshChannel();
    const streams = await Promise.all([subscribe(channel), subscribe(channel)]);
    // 15 × 4 KB = 60 KB in one batch, nearly twice the 32 KiB budget.
    const events = Array.from({ length: 15 }, (_, index) => ({ channel, data: `${index}:${"z".repeat(4_000)}` }));
    const response = await SELF.fetch(`${BASE}/v1/events`, {
      method: "POST",
      headers: { Authorization: "Bearer test-token", "Content-Type": "application/json" },
      body: JSON.stringify({ events }),
    });
    expect(response.status).toBe(201);
    for (const stream of streams) {
      const received = await stream.waitForEvents(15);
      expect(received.map((event) => event.data.split(":")[0])).toEqual(events.map((_, index) => String(index)));
    }
    expect(await stats(channel)).toMatchObject({
      subscribers: 2,
      closedStreams: { overflow: 0, stalled: 0, expired: 0 },
    });
    await Promise.all(streams.map((stream) => stream.cancel()));
  });

  it("resuming across more history than the budget holds replays it all, page by page", async () => {
    const channel = freshChannel();
    for (let index = 1; index <= 18; index++) await publishData(channel, `${index}:${"r".repeat(4_000)}`); // 72 KB, HISTORY_LIMIT 20
    const stream = await subscribe(channel, { headers: { "Last-Event-ID": "0" } });
    const received = await stream.waitForEvents(18);
    expect(received.map((event) => event.id)).toEqual(Array.from({ length: 18 }, (_, index) => String(index + 1)));
    expect((await stats(channel)).closedStreams.overflow).toBe(0);
    await stream.cancel();
  });

  it("a cut subscriber resumes from its last id without losing anything", async () => {
    const channel = freshChannel();
    await publishData(channel, "one");
    await publishData(channel, "two");
    const first = await subscribe(channel, { query: "lastEventId=0" });
    const got = await first.waitForEvents(2);
    await first.cancel();
    await publishData(channel, "three");
    const resumed = await subscribe(channel, { headers: { "Last-Event-ID": got[1]!.id! } });
    expect((await resumed.waitForEvents(1))[0]).toMatchObject({ id: "3", data: "three" });
    await resumed.cancel();
  });
});
