/**
 * Hot channels in hibernating mode, with tiny fan-out objects: the channel
 * object holds 3 subscribers itself (FANOUT_THRESHOLD), each fan-out object 3
 * more (FANOUT_SIZE), up to 40 (MAX_SUBSCRIBERS_PER_CHANNEL) in this project.
 */
import { env, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { encodeBatch } from "../../../src/protocol/bridge-protocol";
import { REANNOUNCE_DELAY_MS } from "../../../src/objects/channel-object";
import { freshChannel, publishData, stats, subscribe } from "../relay-client";
import { SEED } from "../seed";
import { eventually } from "../sse-reader";

type Stream = Awaited<ReturnType<typeof subscribe>>;

function ids(stream: Stream): number[] {
  return stream.events.map((event) => Number(event.id));
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, index) => from + index);
}

async function subscribeMany(channel: string, count: number): Promise<Stream[]> {
  const streams: Stream[] = [];
  // One at a time, so each attach sees the counts the previous one left.
  for (let index = 0; index < count; index++) streams.push(await subscribe(channel));
  return streams;
}

describe("fan-out objects", () => {
  it("30 subscribers spread over the channel and 9 fan-out objects; every one gets every event once; the registry shrinks to zero", async () => {
    const channel = freshChannel();
    const streams = await subscribeMany(channel, 30);
    const before = await stats(channel);
    expect(before.subscribers).toBe(30);
    expect(before.fanouts).toHaveLength(9);
    for (const fanout of before.fanouts) expect(fanout.subscribers).toBe(3);

    for (let index = 1; index <= 5; index++) await publishData(channel, `e${index}`);
    for (const stream of streams) {
      await stream.waitForEvents(5);
      expect(ids(stream)).toEqual(range(1, 5));
    }

    // Half leave, then the rest: the registry follows the subscribers down to nothing.
    await Promise.all(streams.slice(0, 15).map((stream) => stream.cancel()));
    await eventually(async () => (await stats(channel)).subscribers === 15);
    await Promise.all(streams.slice(15).map((stream) => stream.cancel()));
    await eventually(async () => {
      const after = await stats(channel);
      return after.subscribers === 0 && after.fanouts.length === 0;
    });
    const tables = await runInDurableObject(env.CHANNELS.get(env.CHANNELS.idFromName(channel)), (_instance, state) =>
      state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'fanouts'").toArray(),
    );
    expect(tables).toEqual([]);
  });

  it("fan-out objects that hibernated with their subscribers still leave the registry when those leave", async () => {
    const channel = freshChannel();
    const streams = await subscribeMany(channel, 9); // 3 on the channel, 6 on two fan-out objects
    const { fanouts } = await stats(channel);
    expect(fanouts).toHaveLength(2);
    for (const { name } of fanouts) await evictDurableObject(env.FANOUTS.get(env.FANOUTS.idFromName(name)));
    await publishData(channel, "after hibernation");
    for (const stream of streams) await stream.waitForEvents(1);
    await Promise.all(streams.map((stream) => stream.cancel()));
    await eventually(async () => {
      const after = await stats(channel);
      return after.subscribers === 0 && after.fanouts.length === 0;
    });
  });

  it("a fan-out object reset in the middle of a publish burst: every stream stays contiguous, no duplicate", async () => {
    const channel = freshChannel();
    const streams = await subscribeMany(channel, 12);
    const { fanouts } = await stats(channel);
    expect(fanouts.length).toBe(3);
    const seed = SEED;
    const victim = fanouts[seed % fanouts.length]!.name;
    console.log(`fan-out reset: seed ${seed}, resetting ${victim}`);
    for (let index = 1; index <= 20; index++) {
      await publishData(channel, `e${index}`);
      if (index === 8) {
        await runInDurableObject(env.FANOUTS.get(env.FANOUTS.idFromName(victim)), (_instance, state) =>
          state.abort("simulated fan-out crash"),
        ).catch(() => {});
      }
    }
    for (const stream of streams) {
      await stream.waitForEvents(20);
      expect(ids(stream)).toEqual(range(1, 20));
    }
    await Promise.all(streams.map((stream) => stream.cancel()));
  });

  it("the channel object reset mid-burst: its own and the fan-out objects' subscribers all stay contiguous", async () => {
    const channel = freshChannel();
    const streams = await subscribeMany(channel, 9);
    const stub = env.CHANNELS.get(env.CHANNELS.idFromName(channel));
    for (let index = 1; index <= 20; index++) {
      await publishData(channel, `e${index}`);
      if (index === 10)
        await runInDurableObject(stub, (_instance, state) => state.abort("simulated crash")).catch(() => {});
    }
    for (const stream of streams) {
      await stream.waitForEvents(20);
      expect(ids(stream)).toEqual(range(1, 20));
    }
    await Promise.all(streams.map((stream) => stream.cancel()));
  });

  it("an event committed just before the channel object dies reaches fan-out subscribers on a quiet channel", async () => {
    const channel = freshChannel();
    const streams = await subscribeMany(channel, 6); // 3 on the channel, 3 on one fan-out object
    await publishData(channel, "one");
    for (const stream of streams) await stream.waitForEvents(1);
    const stub = env.CHANNELS.get(env.CHANNELS.idFromName(channel));
    await runInDurableObject(stub, async (instance, state) => {
      // What commit() does before handing out: store, arm the re-announcement, make both durable.
      const object = instance as unknown as {
        history: { append(events: { data: string }[]): unknown };
        schedule(job: "reannounce", at: number): Promise<void>;
      };
      object.history.append([{ data: "stored, never pushed" }]);
      await object.schedule("reannounce", Date.now() + REANNOUNCE_DELAY_MS);
      await state.storage.sync();
      state.abort("simulated crash between commit and push");
    }).catch(() => {});
    for (const stream of streams) {
      const events = await stream.waitForEvents(2);
      expect(events.map((event) => event.data)).toEqual(["one", "stored, never pushed"]);
    }
    await Promise.all(streams.map((stream) => stream.cancel()));
  });

  it("one client's streams go to one fan-out object, which counts its share (MAX_STREAMS_PER_CLIENT 3)", async () => {
    const channel = freshChannel();
    const anonymous = await subscribeMany(channel, 3); // the channel object's own three
    const headers = { "CF-Connecting-IP": "203.0.113.9" };
    const mine = [];
    for (let index = 0; index < 3; index++) mine.push(await subscribe(channel, { headers }));
    const { fanouts } = await stats(channel);
    expect(fanouts).toEqual([{ name: expect.any(String), subscribers: 3 }]);
    await expect(subscribe(channel, { headers })).rejects.toThrow(/429/);
    await Promise.all([...anonymous, ...mine].map((stream) => stream.cancel()));
  });

  it("refuses the 41st subscriber with 503 channel_full", async () => {
    const channel = freshChannel();
    const streams = await subscribeMany(channel, 40);
    await expect(subscribe(channel)).rejects.toThrow(/503/);
    await Promise.all(streams.map((stream) => stream.cancel()));
  });
});

describe("a fan-out object's recent batches (where its slow readers catch up first)", () => {
  it("serves whole batches from a batch boundary, bounded by bytes, and forgets them after a gap", async () => {
    const stub = env.FANOUTS.get(env.FANOUTS.idFromName(`${freshChannel()}/fanout/any/0`));
    const frames = (text: string) => new TextEncoder().encode(text);
    await stub.deliver(encodeBatch(0, 2, frames("a".repeat(100))));
    await stub.deliver(encodeBatch(2, 3, frames("b".repeat(100))));
    await stub.deliver(encodeBatch(3, 5, frames("c".repeat(100))));
    const text = (page: { bytes: Uint8Array } | null) => (page ? new TextDecoder().decode(page.bytes) : null);
    expect(text(await stub.readRecent(2, 1_000))).toBe("b".repeat(100) + "c".repeat(100));
    expect((await stub.readRecent(2, 150))?.cursor).toBe(3); // bounded, whole batches
    expect((await stub.readRecent(0, 1))?.cursor).toBe(2); // at least one batch
    expect(await stub.readRecent(1, 1_000)).toBeNull(); // not a boundary: the channel's history serves it
    await stub.deliver(encodeBatch(7, 8, frames("d"))); // a gap: what came before is no longer contiguous
    expect(await stub.readRecent(3, 1_000)).toBeNull();
    expect(text(await stub.readRecent(7, 1_000))).toBe("d");
  });
});
