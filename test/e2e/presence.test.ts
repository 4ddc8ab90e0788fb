/**
 * Presence end to end: the relay under `wrangler dev`, read by the `eventsource` client. Small fan-out
 * settings (2 on the channel object, 2 per fan-out object) so the count spans fan-out objects.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PRESENCE_EVENT_NAME } from "../../src/channel/presence";
import { channelStats, type Listener, listen, publishTo, until } from "../support/sse-client";
import { startRelay, type RelayProcess } from "../support/wrangler-dev";

let relay: RelayProcess;

beforeAll(async () => {
  relay = await startRelay({
    PRESENCE_CHANNEL_PREFIXES: "room-",
    PRESENCE_INTERVAL_MS: "500",
    FANOUT_THRESHOLD: "2",
    FANOUT_SIZE: "2",
    HEARTBEAT_MS: "1000",
  });
});

afterAll(async () => {
  await relay?.dispose();
});

const TYPES = ["message", PRESENCE_EVENT_NAME];

function counts(listener: Listener): number[] {
  return listener.received
    .filter((event) => event.type === PRESENCE_EVENT_NAME)
    .map((event) => (JSON.parse(event.data) as { subscribers: number }).subscribers);
}

async function sees(listener: Listener, subscribers: number): Promise<void> {
  await until(
    () => counts(listener).at(-1) === subscribers,
    () => `presence ${subscribers}; got ${JSON.stringify(counts(listener))}\n${relay.output().slice(-2_000)}`,
  );
}

async function read(channel: string): Promise<{ status: number; body: unknown; cors: string | null }> {
  const response = await fetch(`${relay.url}/v1/channels/${channel}/presence`, {
    headers: { Origin: "https://page.example" },
  });
  return {
    status: response.status,
    body: await response.json(),
    cors: response.headers.get("Access-Control-Allow-Origin"),
  };
}

describe("presence through wrangler dev", () => {
  it("counts joins and leaves across fan-out objects, in events that do not move Last-Event-ID", async () => {
    const channel = `room-${Date.now()}`;
    const first = listen(relay.url, channel, TYPES);
    await first.opened;
    await sees(first, 1);
    const others: Listener[] = [];
    for (let n = 2; n <= 4; n++) {
      const next = listen(relay.url, channel, TYPES);
      await next.opened;
      others.push(next);
      await sees(first, n);
    }
    // The 3rd and 4th are on a fan-out object: they see the channel's total.
    await sees(others[2]!, 4);
    expect((await channelStats(relay.url, channel)).fanouts).not.toEqual([]);
    expect(await read(channel)).toEqual({ status: 200, body: { channel, subscribers: 4 }, cors: "*" });

    others[2]!.close();
    others[0]!.close();
    await sees(first, 2);
    expect((await read(channel)).body).toEqual({ channel, subscribers: 2 });

    // No id on presence frames: EventSource's lastEventId stays what the stream's resume point set
    // (relay.position, id 0 on this empty channel).
    expect(first.received.every((event) => event.id === "0")).toBe(true);
    const id = await publishTo(relay.url, channel, { data: "after" });
    await until(() => first.received.some((event) => event.data === "after"));
    expect(first.received.find((event) => event.data === "after")?.id).toBe(id);
    for (const listener of [first, ...others]) listener.close();
  });

  it("a channel outside PRESENCE_CHANNEL_PREFIXES has no presence read and gets no presence event", async () => {
    const channel = `plain-${Date.now()}`;
    const watcher = listen(relay.url, channel, TYPES);
    await watcher.opened;
    const other = listen(relay.url, channel, TYPES);
    await other.opened;
    other.close();
    await publishTo(relay.url, channel, { data: "marker" });
    await until(() => watcher.received.length > 0);
    expect(watcher.received.map((event) => event.type)).toEqual(["message"]);
    expect((await read(channel)).status).toBe(404);
    watcher.close();
  });
});
