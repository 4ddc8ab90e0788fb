/**
 * A client's share of a hot channel, across the channel object and its
 * fan-out objects (this project: 3 on the channel object, fan-out objects of
 * 3, room for 40; MAX_STREAMS_PER_CLIENT 3). The channel object counts each
 * client's streams wherever it sends them, so spreading them over objects
 * gains nothing. Conditions are waited for, never time.
 */
import { SELF, env, evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { crash } from "../restart";
import { BASE, freshChannel, stats, subscribe } from "../relay-client";
import { eventually, readStream, type StreamReader } from "../sse-reader";

const SHARE = Number(env.MAX_STREAMS_PER_CLIENT);
const HUB = `${BASE}/.well-known/mercure`;

type Opened = { stream: StreamReader } | { status: number; error: string };

/** Opens a stream from `address` at `url`: the open stream, or the refusal's status and error code. */
async function open(url: string, address: string | null): Promise<Opened> {
  const response = await SELF.fetch(url, { headers: address === null ? {} : { "CF-Connecting-IP": address } });
  if (response.status !== 200) {
    const body = (await response.json()) as { error?: string };
    return { status: response.status, error: body.error ?? "" };
  }
  const stream = readStream(response);
  await stream.waitForComment((comment) => comment.trim() === "connected");
  return { stream };
}

const channelUrl = (channel: string) => `${BASE}/v1/channels/${channel}/events`;

/**
 * Two addresses take turns opening one stream each until both are refused (or a guard count is
 * reached): what each got, and every refusal seen.
 */
async function alternate(url: string, addresses: readonly string[], guard = 30) {
  const held = new Map<string, StreamReader[]>(addresses.map((address) => [address, []]));
  const refusals: { address: string; status: number; error: string }[] = [];
  const refused = new Set<string>();
  for (let turn = 0; turn < guard && refused.size < addresses.length; turn++) {
    const address = addresses[turn % addresses.length]!;
    if (refused.has(address)) continue;
    const opened = await open(url, address);
    if ("stream" in opened) held.get(address)!.push(opened.stream);
    else {
      refusals.push({ address, ...opened });
      refused.add(address);
    }
  }
  return { held, refusals };
}

async function closeAll(streams: Iterable<StreamReader>): Promise<void> {
  await Promise.all([...streams].map((stream) => stream.cancel()));
}

describe("a client's share across fan-out objects", () => {
  it("two addresses taking turns are each refused 429 at their share, wherever the stream would go; others still get in", async () => {
    const channel = freshChannel();
    const { held, refusals } = await alternate(channelUrl(channel), ["203.0.113.1", "203.0.113.2"]);
    expect(refusals).toEqual([
      { address: "203.0.113.1", status: 429, error: "too_many_streams" },
      { address: "203.0.113.2", status: 429, error: "too_many_streams" },
    ]);
    for (const streams of held.values()) expect(streams).toHaveLength(SHARE);
    // Their six streams sit on the channel object and more than one object past it.
    const spread = await stats(channel);
    expect(spread.subscribers).toBe(2 * SHARE);
    expect(spread.fanouts.length).toBeGreaterThanOrEqual(1);
    // Everyone else still gets in, up to their own share.
    const others: StreamReader[] = [];
    for (const address of ["198.51.100.1", "198.51.100.2"]) {
      for (let index = 0; index < SHARE; index++) {
        const opened = await open(channelUrl(channel), address);
        if (!("stream" in opened)) throw new Error(`${address} refused: ${opened.status} ${opened.error}`);
        others.push(opened.stream);
      }
    }
    expect((await stats(channel)).subscribers).toBe(4 * SHARE);
    await closeAll([...held.values()].flat().concat(others));
  });

  it("a client whose streams sit on several fan-out objects is counted on all of them", async () => {
    const channel = freshChannel();
    // Anonymous streams (not counted) fill the channel object, then A and B share fan-out objects of 3.
    const anonymous = [];
    for (let index = 0; index < 3; index++) anonymous.push(await subscribe(channel));
    const { held, refusals } = await alternate(channelUrl(channel), ["203.0.113.11", "203.0.113.12"]);
    expect(refusals.map((refusal) => refusal.status)).toEqual([429, 429]);
    const { fanouts } = await stats(channel);
    expect(fanouts).toHaveLength(2); // A and B's six streams: A's spread over both
    for (const streams of held.values()) expect(streams).toHaveLength(SHARE);
    await closeAll([...anonymous, ...[...held.values()].flat()]);
  });

  it("a closed stream frees its place in the share: the client opens one more, and no more", async () => {
    const channel = freshChannel();
    const anonymous = [];
    for (let index = 0; index < 3; index++) anonymous.push(await subscribe(channel));
    const address = "203.0.113.21";
    const mine: StreamReader[] = [];
    for (let index = 0; index < SHARE; index++) {
      const opened = await open(channelUrl(channel), address);
      if (!("stream" in opened)) throw new Error(`refused: ${opened.status}`);
      mine.push(opened.stream);
    }
    expect(await open(channelUrl(channel), address)).toEqual({ status: 429, error: "too_many_streams" });
    // Close one that a fan-out object holds; the channel hears of it without any publish.
    await mine.shift()!.cancel();
    let reopened: StreamReader | null = null;
    await eventually(async () => {
      const opened = await open(channelUrl(channel), address);
      if ("stream" in opened) reopened = opened.stream;
      return reopened !== null;
    });
    mine.push(reopened!);
    expect(await open(channelUrl(channel), address)).toEqual({ status: 429, error: "too_many_streams" });
    // All closed: the whole share is free again.
    await closeAll(mine.splice(0));
    await eventually(async () => {
      const opened = await open(channelUrl(channel), address);
      if ("stream" in opened) mine.push(opened.stream);
      return mine.length > 0;
    });
    for (let index = 1; index < SHARE; index++) {
      const opened = await open(channelUrl(channel), address);
      if (!("stream" in opened)) throw new Error(`refused after all closed: ${opened.status}`);
      mine.push(opened.stream);
    }
    await closeAll([...anonymous, ...mine]);
  });

  it("after the channel object restarts, it learns each client's streams from its fan-out objects before counting", async () => {
    const channel = freshChannel();
    const anonymous = [];
    for (let index = 0; index < 3; index++) anonymous.push(await subscribe(channel));
    const { held } = await alternate(channelUrl(channel), ["203.0.113.31", "203.0.113.32"]);
    await crash(env.CHANNELS.get(env.CHANNELS.idFromName(channel)), "simulated restart");
    for (const address of ["203.0.113.31", "203.0.113.32"]) {
      expect(await open(channelUrl(channel), address)).toEqual({ status: 429, error: "too_many_streams" });
    }
    await closeAll([...anonymous, ...[...held.values()].flat()]);
  });

  it("after the channel and fan-out objects hibernate, every stream still counts (sockets keep their client)", async () => {
    const channel = freshChannel();
    const mine = "203.0.113.61";
    const other = "203.0.113.62";
    const { held } = await alternate(channelUrl(channel), [mine, other]); // mine: 2 on the channel object, 1 past it
    const { fanouts } = await stats(channel);
    await evictDurableObject(env.CHANNELS.get(env.CHANNELS.idFromName(channel)));
    for (const { name } of fanouts) await evictDurableObject(env.FANOUTS.get(env.FANOUTS.idFromName(name)));
    expect(await open(channelUrl(channel), mine)).toEqual({ status: 429, error: "too_many_streams" });
    expect(await open(channelUrl(channel), other)).toEqual({ status: 429, error: "too_many_streams" });
    const third = await open(channelUrl(channel), "203.0.113.63");
    expect("stream" in third).toBe(true);
    await closeAll([...[...held.values()].flat(), ...("stream" in third ? [third.stream] : [])]);
  });

  it("a fan-out object that crashes: its clients' streams re-attach within their share, and the share is not lost", async () => {
    const channel = freshChannel();
    const anonymous = [];
    for (let index = 0; index < 3; index++) anonymous.push(await subscribe(channel));
    const address = "203.0.113.41";
    const mine: StreamReader[] = [];
    for (let index = 0; index < SHARE; index++) {
      const opened = await open(channelUrl(channel), address);
      if (!("stream" in opened)) throw new Error(`refused: ${opened.status}`);
      mine.push(opened.stream);
    }
    const { fanouts } = await stats(channel);
    for (const { name } of fanouts) {
      await crash(env.FANOUTS.get(env.FANOUTS.idFromName(name)), "simulated fan-out crash");
    }
    // Every stream re-attaches (none ended for want of a place), and the client is still at its share.
    await eventually(async () => (await stats(channel)).subscribers === 3 + SHARE);
    for (const stream of mine) expect(stream.events).toEqual([]);
    expect(await open(channelUrl(channel), address)).toEqual({ status: 429, error: "too_many_streams" });
    await closeAll([...anonymous, ...mine]);
  });
});

describe("a client's share of the Mercure hub (one channel object for every topic)", () => {
  it("two addresses taking turns are each refused 429 at their share; others still get in", async () => {
    const url = `${HUB}?match=${encodeURIComponent("https://example.com/books/1")}`;
    const { held, refusals } = await alternate(url, ["203.0.113.51", "203.0.113.52"]);
    expect(refusals.map(({ status, error }) => ({ status, error }))).toEqual([
      { status: 429, error: "too_many_streams" },
      { status: 429, error: "too_many_streams" },
    ]);
    for (const streams of held.values()) expect(streams).toHaveLength(SHARE);
    const other = await open(url, "198.51.100.51");
    expect("stream" in other).toBe(true);
    await closeAll([...[...held.values()].flat(), ...("stream" in other ? [other.stream] : [])]);
  });
});
