/**
 * Presence (PRESENCE_CHANNEL_PREFIXES "seen-,private-seen-", PRESENCE_INTERVAL_MS 1000 in the worker
 * projects): subscribers of a presence channel get `relay.presence` events with the count of open
 * streams, across fan-out objects (this project's FANOUT_THRESHOLD 4 / FANOUT_SIZE 2 put the 5th and
 * 6th subscribers on one), and anyone may read the count of a public channel; a private channel's only
 * with a subscriber token. Both delivery modes (worker, worker-direct).
 */
import { SELF, env, runInDurableObject } from "cloudflare:test";
import type { EventSourceMessage } from "eventsource-parser";
import { sign } from "hono/jwt";
import { describe, expect, it } from "vitest";
import { PRESENCE_EVENT_NAME } from "../../src/channel/presence";
import { BASE, DELIVERY_MODE, freshChannel, publishData, stats, subscribe } from "./relay-client";
import { eventually, type StreamReader } from "./sse-reader";

const SUBSCRIBE_SECRET = "test-subscribe-secret-0123456789abcdef";

function counts(reader: StreamReader): number[] {
  return reader.events
    .filter((event) => event.event === PRESENCE_EVENT_NAME)
    .map((event) => (JSON.parse(event.data) as { subscribers: number }).subscribers);
}

/** Waits until the latest presence event this reader got says `subscribers`. */
async function seesCount(reader: StreamReader, subscribers: number): Promise<void> {
  await eventually(async () => counts(reader).at(-1) === subscribers).catch(() => {
    throw new Error(`expected a presence count of ${subscribers}; got ${JSON.stringify(counts(reader))}`);
  });
}

function presenceUrl(channel: string): string {
  return `${BASE}/v1/channels/${channel}/presence`;
}

async function readPresence(channel: string, headers: Record<string, string> = {}): Promise<Response> {
  return SELF.fetch(presenceUrl(channel), { headers });
}

async function readCount(channel: string): Promise<number> {
  const response = await readPresence(channel);
  expect(response.status).toBe(200);
  const body = (await response.json()) as { channel: string; subscribers: number };
  expect(body.channel).toBe(channel);
  return body.subscribers;
}

function subscriberToken(channels: string[]): Promise<string> {
  return sign({ scope: "subscribe", channels, exp: Math.floor(Date.now() / 1000) + 300 }, SUBSCRIBE_SECRET, "HS256");
}

describe("presence", () => {
  it("the count goes up with joins and down with leaves, across fan-out objects, in events without an id", async () => {
    const channel = freshChannel("seen");
    const first = await subscribe(channel);
    await seesCount(first, 1);
    const others: (StreamReader & { response: Response })[] = [];
    for (let n = 2; n <= 6; n++) {
      others.push(await subscribe(channel));
      await seesCount(first, n);
    }
    // The last joiner is held by a fan-out object in hibernating mode: it gets the count too.
    const last = others.at(-1)!;
    await seesCount(last, 6);
    if (DELIVERY_MODE === "hibernating") expect((await stats(channel)).fanouts.length).toBeGreaterThan(0);
    expect(await readCount(channel)).toBe(6);

    // Leaves: two on a fan-out object (the 5th and 6th), one on the channel object.
    await Promise.all([others[4]!.cancel(), others[3]!.cancel(), others[0]!.cancel()]);
    await seesCount(first, 3);
    expect(await readCount(channel)).toBe(3);

    // Presence is not durable: no id, and the cursor of a later event is the channel's own.
    const presence = first.events.filter((event) => event.event === PRESENCE_EVENT_NAME);
    expect(presence.every((event: EventSourceMessage) => event.id === undefined)).toBe(true);
    const id = await publishData(channel, "after");
    await eventually(async () => first.events.some((event) => event.data === "after"));
    expect(first.events.find((event) => event.data === "after")?.id).toBe(id);
    await Promise.all([first, ...others].map((stream) => stream.cancel()));
  });

  it.skipIf(DELIVERY_MODE !== "hibernating")(
    "with every stream left on fan-out objects, changes still reach them (the channel's alarm waits)",
    async () => {
      const channel = freshChannel("seen");
      const streams: (StreamReader & { response: Response })[] = [];
      for (let n = 1; n <= 6; n++) streams.push(await subscribe(channel));
      const [fifth, sixth] = [streams[4]!, streams[5]!];
      await seesCount(sixth, 6);
      // The channel object's own four leave at once: only fan-out streams remain, the channel has no socket.
      await Promise.all(streams.slice(0, 4).map((stream) => stream.cancel()));
      await seesCount(sixth, 2);
      await fifth.cancel();
      await seesCount(sixth, 1);
      expect(await readCount(channel)).toBe(1);
      await sixth.cancel();
    },
  );

  it("a burst of joins is coalesced into fewer events, and the final count is right", async () => {
    const channel = freshChannel("seen");
    const watcher = await subscribe(channel);
    await seesCount(watcher, 1);
    const before = counts(watcher).length;
    const started = Date.now();
    const joiners = await Promise.all([1, 2, 3, 4, 5].map(() => subscribe(channel)));
    await seesCount(watcher, 6);
    const during = counts(watcher).slice(before);
    // At most one event per PRESENCE_INTERVAL_MS (1000 here) plus the one a quiet interval lets out at
    // once: an upper bound that holds however slow the machine is (a slow run only loosens it), and
    // that five joins, each sent as it came, break whenever they arrive within four intervals.
    const intervals = Math.floor((Date.now() - started) / 1000);
    expect(during.length).toBeLessThanOrEqual(Math.min(5, intervals + 1));
    expect(during.at(-1)).toBe(6);
    await Promise.all([watcher, ...joiners].map((stream) => stream.cancel()));
  });

  it("channels outside PRESENCE_CHANNEL_PREFIXES get no presence event and no read", async () => {
    const channel = freshChannel("quiet");
    const watcher = await subscribe(channel);
    const other = await subscribe(channel);
    await other.cancel();
    await eventually(async () => (await stats(channel)).subscribers === 1);
    await publishData(channel, "marker");
    // The marker went out after the join and the leave: a presence event for them would be before it.
    await watcher.waitForEvents(1);
    expect(watcher.events.map((event) => event.event ?? "message")).toEqual(["message"]);
    const response = await readPresence(channel);
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: string }).error).toBe("presence_disabled");
    await watcher.cancel();
  });

  it("a private channel's count only to holders of a token covering it", async () => {
    const channel = freshChannel("private-seen");
    expect((await readPresence(channel)).status).toBe(401);
    const wrong = await subscriberToken(["private-seen-someone-else"]);
    expect((await readPresence(channel, { Authorization: `Bearer ${wrong}` })).status).toBe(403);
    const token = await subscriberToken([channel]);
    const holder = await subscribe(channel, { headers: { Authorization: `Bearer ${token}` } });
    await seesCount(holder, 1);
    const response = await readPresence(channel, { Authorization: `Bearer ${token}` });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ channel, subscribers: 1 });
    await holder.cancel();
  });

  it("a public count is readable cross-origin from an allowed origin", async () => {
    const channel = freshChannel("seen");
    const response = await readPresence(channel, { Origin: "https://app.example.com" });
    expect(response.status).toBe(200);
    expect(response.headers.get("Access-Control-Allow-Origin")).toBe("https://app.example.com");
    expect(await response.json()).toEqual({ channel, subscribers: 0 });
  });

  it("anonymous subscribers of a presence channel leave no storage behind", async () => {
    const channel = freshChannel("seen");
    const stream = await subscribe(channel);
    await seesCount(stream, 1);
    await stream.cancel();
    await eventually(async () => (await readCount(channel)) === 0);
    const stub = env.CHANNELS.get(env.CHANNELS.idFromName(channel));
    const tables = await runInDurableObject(stub, (_instance, state) =>
      state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table'").toArray(),
    );
    expect(tables).toEqual([]);
  });
});
