import { evictDurableObject, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { freshChannel, publishData, stats, subscribe } from "./relay-client";
import { GUARD_MS } from "./sse-reader";

const ids = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, index) => String(from + index));

async function publishMany(channel: string, count: number, prefix = "e"): Promise<void> {
  for (let index = 0; index < count; index++) await publishData(channel, `${prefix}${index}`);
}

describe("replay with Last-Event-ID", () => {
  it("sends the retained events after the header's id, then continues live", async () => {
    const channel = freshChannel();
    await publishMany(channel, 5);
    const stream = await subscribe(channel, { headers: { "Last-Event-ID": "2" } });
    await stream.waitForEvents(3);
    await publishData(channel, "live");
    const events = await stream.waitForEvents(4);
    expect(events.map((event) => event.id)).toEqual(["3", "4", "5", "6"]);
    expect(events.map((event) => event.data)).toEqual(["e2", "e3", "e4", "live"]);
    await stream.cancel();
  });

  it("accepts ?lastEventId= for EventSource's first connect", async () => {
    const channel = freshChannel();
    await publishMany(channel, 4);
    const stream = await subscribe(channel, { query: "lastEventId=1" });
    expect((await stream.waitForEvents(3)).map((event) => event.id)).toEqual(["2", "3", "4"]);
    await stream.cancel();
  });

  it("prefers the header over the query (a reconnect keeps the first URL)", async () => {
    const channel = freshChannel();
    await publishMany(channel, 4);
    const stream = await subscribe(channel, { query: "lastEventId=1", headers: { "Last-Event-ID": "3" } });
    await publishData(channel, "marker"); // arrives after anything replayed
    await stream.waitForEvents(2);
    expect(stream.events.map((event) => event.id)).toEqual(["4", "5"]);
    await stream.cancel();
  });

  it("replays everything retained from lastEventId=0", async () => {
    const channel = freshChannel();
    await publishMany(channel, 3);
    const stream = await subscribe(channel, { query: "lastEventId=0" });
    expect((await stream.waitForEvents(3)).map((event) => event.id)).toEqual(ids(1, 3));
    await stream.cancel();
  });

  it("a caught-up id replays nothing and goes live", async () => {
    const channel = freshChannel();
    await publishMany(channel, 3);
    const stream = await subscribe(channel, { headers: { "Last-Event-ID": "3" } });
    await publishData(channel, "next");
    expect((await stream.waitForEvents(1))[0]).toMatchObject({ id: "4", data: "next" });
    expect(stream.events).toHaveLength(1);
    await stream.cancel();
  });

  it("has no gap and no duplicate at the replay/live seam under concurrent publishes", async () => {
    const channel = freshChannel();
    await publishMany(channel, 10, "before");
    const total = 60;
    // Publishers and resuming subscribers race each other.
    // Three concurrent publishers, so durability waits overlap and finish in any order.
    const publishing = Promise.all(
      [0, 1, 2].map(async (lane) => {
        for (let index = lane; index < total; index += 3) await publishData(channel, `during${index}`);
      }),
    );
    const resumeFrom = [0, 3, 7, 10];
    const streams = [];
    for (const after of resumeFrom) {
      streams.push({ after, stream: await subscribe(channel, { headers: { "Last-Event-ID": String(after) } }) });
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await publishing;
    const lastId = 10 + total;
    for (const { after, stream } of streams) {
      // History keeps 20, so early resumers may be told of a gap first; after that, every id once, in order.
      await stream.waitForEvents(lastId - after >= 20 ? 1 : lastId - after);
      await waitUntilId(stream.events, lastId);
      const received = stream.events.filter((event) => event.event !== "relay.lost").map((event) => Number(event.id));
      expect(new Set(received).size).toBe(received.length);
      const first = received[0]!;
      expect(received).toEqual(ids(first, lastId).map(Number));
      if (first !== after + 1) expect(stream.events[0]?.event).toBe("relay.lost");
      await stream.cancel();
    }
  });

  it("tells the client with relay.lost when its id was pruned, then sends what is retained", async () => {
    const channel = freshChannel();
    await publishMany(channel, 30);
    expect(await stats(channel)).toMatchObject({ lastEventId: "30", oldestEventId: "11", eventsRetained: 20 });
    const stream = await subscribe(channel, { headers: { "Last-Event-ID": "4" } });
    const events = await stream.waitForEvents(21);
    expect(events[0]?.event).toBe("relay.lost");
    expect(events[0]?.id).toBeUndefined();
    expect(JSON.parse(events[0]!.data)).toEqual({ reason: "history-pruned", lastEventId: "4", firstAvailableId: "11" });
    expect(events.slice(1).map((event) => event.id)).toEqual(ids(11, 30));
    await stream.cancel();
  });

  it("tells the client with relay.lost when its id was never issued here", async () => {
    const channel = freshChannel();
    await publishMany(channel, 2);
    const stream = await subscribe(channel, { headers: { "Last-Event-ID": "9000" } });
    const events = await stream.waitForEvents(3);
    expect(JSON.parse(events[0]!.data)).toEqual({ reason: "unknown-id", lastEventId: "9000", firstAvailableId: "1" });
    expect(events.slice(1).map((event) => event.id)).toEqual(["1", "2"]);
    await stream.cancel();
  });

  it("prunes history to HISTORY_LIMIT and never reuses ids", async () => {
    const channel = freshChannel();
    await publishMany(channel, 45);
    expect(await stats(channel)).toMatchObject({ lastEventId: "45", oldestEventId: "26", eventsRetained: 20 });
  });

  it("keeps history and the id sequence when the channel object is evicted", async () => {
    const channel = freshChannel();
    await publishMany(channel, 3);
    await evictDurableObject(env.CHANNELS.get(env.CHANNELS.idFromName(channel)));
    expect(await publishData(channel, "after eviction")).toBe("4");
    const stream = await subscribe(channel, { headers: { "Last-Event-ID": "1" } });
    expect((await stream.waitForEvents(3)).map((event) => event.data)).toEqual(["e1", "e2", "after eviction"]);
    await stream.cancel();
  });
});

async function waitUntilId(events: { id?: string | undefined }[], id: number, timeoutMs = GUARD_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!events.some((event) => event.id === String(id))) {
    if (Date.now() > deadline)
      throw new Error(`id ${id} never arrived; got ${events.map((event) => event.id).join(",")}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
