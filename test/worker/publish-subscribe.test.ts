import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { BASE, DELIVERY_MODE, TOKEN, freshChannel, publish, publishData, stats, subscribe } from "./relay-client";

describe("publish → subscribe", () => {
  it("answers /healthz", async () => {
    const response = await SELF.fetch(`${BASE}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
  });

  it("opens a stream with SSE headers, a first comment and retry", async () => {
    const channel = freshChannel();
    const stream = await subscribe(channel);
    const headers = stream.response.headers;
    expect(headers.get("Content-Type")).toBe("text/event-stream; charset=utf-8");
    expect(headers.get("Cache-Control")).toBe("no-cache, no-transform");
    expect(headers.get("X-Accel-Buffering")).toBe("no");
    expect(headers.get("Content-Encoding")).toBeNull();
    expect(stream.comments[0]).toBe("connected");
    expect(stream.retry).toBe(500);
    await stream.cancel();
  });

  it("delivers a JSON publish to a subscriber with its id, and answers 201 with the id", async () => {
    const channel = freshChannel();
    const stream = await subscribe(channel);
    const response = await publish(channel, { data: "hello" });
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({ channel, id: "1" });
    const [event] = await stream.waitForEvents(1);
    expect(event).toMatchObject({ id: "1", data: "hello", event: undefined });
    await stream.cancel();
  });

  it("sends non-string data as its JSON text, and named events with event:", async () => {
    const channel = freshChannel();
    const stream = await subscribe(channel);
    await publishData(channel, { page: 3, title: "Edited" }, "page-updated");
    await publishData(channel, [1, 2, 3]);
    await publishData(channel, 42);
    await publishData(channel, null);
    const events = await stream.waitForEvents(4);
    expect(events[0]).toMatchObject({ event: "page-updated", data: '{"page":3,"title":"Edited"}' });
    expect(events.slice(1).map((event) => event.data)).toEqual(["[1,2,3]", "42", "null"]);
    await stream.cancel();
  });

  it("accepts a text/plain body as the data, with the event name from ?event=", async () => {
    const channel = freshChannel();
    const stream = await subscribe(channel);
    const response = await SELF.fetch(`${BASE}/v1/channels/${channel}/events?event=note`, {
      method: "POST",
      headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "text/plain; charset=utf-8" },
      body: "first line\r\nsecond line",
    });
    expect(response.status).toBe(201);
    const [event] = await stream.waitForEvents(1);
    expect(event).toMatchObject({ event: "note", data: "first line\nsecond line" });
    await stream.cancel();
  });

  it("broadcasts every event, in order, to several subscribers", async () => {
    const channel = freshChannel();
    const streams = await Promise.all([1, 2, 3, 4, 5].map(() => subscribe(channel)));
    for (let index = 1; index <= 20; index++) await publishData(channel, `event ${index}`);
    for (const stream of streams) {
      const events = await stream.waitForEvents(20);
      expect(events.map((event) => event.id)).toEqual(Array.from({ length: 20 }, (_, index) => String(index + 1)));
      expect(events.map((event) => event.data)).toEqual(Array.from({ length: 20 }, (_, index) => `event ${index + 1}`));
    }
    expect((await stats(channel)).subscribers).toBe(5);
    await Promise.all(streams.map((stream) => stream.cancel()));
  });

  it("keeps channels apart", async () => {
    const a = freshChannel("a");
    const b = freshChannel("b");
    const streamA = await subscribe(a);
    const streamB = await subscribe(b);
    await publishData(a, "for a");
    await publishData(b, "for b");
    expect((await streamA.waitForEvents(1))[0]?.data).toBe("for a");
    expect((await streamB.waitForEvents(1))[0]?.data).toBe("for b");
    expect(streamA.events).toHaveLength(1);
    await streamA.cancel();
    await streamB.cancel();
  });

  it("sends heartbeat comments while a stream is idle", async () => {
    const channel = freshChannel();
    const stream = await subscribe(channel);
    await stream.waitForComment((comment) => comment.trim() === "heartbeat");
    await stream.cancel();
  });

  it("serves every shard subdomain (and *.localhost) from the same channel", async () => {
    const channel = freshChannel();
    const hosts = ["https://s1.sse.example.com", "https://s7.sse.example.com", "http://s3.localhost:8787"];
    const streams = await Promise.all(hosts.map((base) => subscribe(channel, { base })));
    const response = await publish(channel, { data: "via another shard" }, { base: "https://s2.sse.example.com" });
    expect(response.status).toBe(201);
    for (const stream of streams)
      expect((await stream.waitForEvents(1))[0]).toMatchObject({ id: "1", data: "via another shard" });
    await Promise.all(streams.map((stream) => stream.cancel()));
  });

  it("publishes a batch across channels, keeping order per channel, and answers the ids", async () => {
    const a = freshChannel("a");
    const b = freshChannel("b");
    const streamA = await subscribe(a);
    const streamB = await subscribe(b);
    const response = await SELF.fetch(`${BASE}/v1/events`, {
      method: "POST",
      headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
      body: JSON.stringify({
        events: [
          { channel: a, data: "a1" },
          { channel: b, data: "b1", event: "named" },
          { channel: a, data: { n: 2 } },
          { channel: a, data: "a3" },
        ],
      }),
    });
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({ ids: ["1", "1", "2", "3"] });
    expect((await streamA.waitForEvents(3)).map((event) => [event.id, event.data])).toEqual([
      ["1", "a1"],
      ["2", '{"n":2}'],
      ["3", "a3"],
    ]);
    expect((await streamB.waitForEvents(1))[0]).toMatchObject({ id: "1", event: "named", data: "b1" });
    await streamA.cancel();
    await streamB.cancel();
  });

  it("reports channel stats", async () => {
    const channel = freshChannel();
    expect(await stats(channel)).toEqual({
      channel,
      mode: DELIVERY_MODE,
      subscribers: 0,
      // Hibernating: the Workers hold the unsent bytes; the object cannot know them.
      bufferedBytes: DELIVERY_MODE === "direct" ? 0 : null,
      closedStreams: { overflow: 0, stalled: 0, expired: 0 },
      fanouts: [],
      objectStartedAt: expect.any(String),
      lastEventId: null,
      oldestEventId: null,
      eventsRetained: 0,
      historyLimit: 20,
      redis: { enabled: false },
    });
    const stream = await subscribe(channel);
    await publishData(channel, "one");
    await publishData(channel, "two");
    expect(await stats(channel)).toMatchObject({
      subscribers: 1,
      lastEventId: "2",
      oldestEventId: "1",
      eventsRetained: 2,
    });
    await stream.cancel();
  });
});
