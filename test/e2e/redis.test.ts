/**
 * Redis Stream ingestion end to end: a real redis-server, the Upstash REST
 * bridge, the relay under `wrangler dev`, entries written with a plain
 * Redis client (ioredis, not through the relay), streams read with the
 * `eventsource` client. What needs them is here: real entries and replies,
 * the bridge or Redis gone, a slow answer, a process restart. The poll
 * loop's own rules (one id sequence with HTTP publishes, replay, stopping
 * when idle, full batches, back-off, the durable cursor) are tested inside
 * workerd with a scripted stream: test/worker/redis-poller.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedisStack, type RedisStack } from "../support/redis-stack";
import { channelStats, listen as listenTo, publishTo, until, type Listener } from "../support/sse-client";
import { startRelay, type RelayProcess } from "../support/wrangler-dev";

const POLL_MS = 100;
let stack: RedisStack;
let relay: RelayProcess;

beforeAll(async () => {
  stack = await startRedisStack();
  relay = await startRelay({
    ...stack.relayVars,
    REDIS_POLL_MS: String(POLL_MS),
    RETRY_MS: "300",
    HEARTBEAT_MS: "500",
    MAX_EVENT_BYTES: "4096",
    REDIS_TIMEOUT_MS: "500",
  });
});

afterAll(async () => {
  await relay?.dispose();
  await stack?.dispose();
});

const listen = (channel: string, types?: string[]) => listenTo(relay.url, channel, types);

/** Subscribes and waits until the channel's first poll has fixed its cursor, so later XADDs are "new". */
async function subscribed(channel: string, types?: string[]): Promise<Listener> {
  const listener = listen(channel, types);
  await listener.opened;
  await waitForCursor(channel);
  return listener;
}

async function waitForCursor(channel: string): Promise<void> {
  await until(
    async () => ((await channelStats(relay.url, channel)).redis as { cursor: string | null }).cursor !== null,
    () => `no Redis cursor for ${channel}`,
  );
}

const xadd = (channel: string, ...fields: string[]) => stack.client.xadd(`sse:${channel}`, "*", ...fields);

describe("Redis Stream ingestion", () => {
  it("delivers entries in order, with names and multi-line data, from healthy polls", async () => {
    const channel = "redis-basic";
    const listener = await subscribed(channel, ["message", "page-updated"]);
    await xadd(channel, "data", "first");
    await until(
      () => listener.received.length === 1,
      () => "first entry never arrived",
    );
    // Polling runs at its interval, not in a back-off: no poll has failed.
    expect((await channelStats(relay.url, channel)).redis).toMatchObject({
      consecutiveFailures: 0,
      lastPoll: { ok: true },
    });

    const entries: [string, string | undefined][] = [
      ["line one\nline two\r\nline three", undefined],
      ['{"page":7,"title":"Edited"}', "page-updated"],
      ["123", undefined],
      ["", undefined],
      ["  spaced  ", "page-updated"],
    ];
    for (const [data, event] of entries)
      await xadd(channel, ...(event ? ["event", event, "data", data] : ["data", data]));
    await until(
      () => listener.received.length === 1 + entries.length,
      () => JSON.stringify(listener.received),
    );
    listener.close();
    expect(listener.received.slice(1).map((event) => [event.type, event.data])).toEqual(
      entries.map(([data, event]) => [event ?? "message", data.replace(/\r\n|\r/g, "\n")]),
    );
    expect(listener.received.map((event) => event.id)).toEqual(["1", "2", "3", "4", "5", "6"]);
  });

  it("skips malformed entries with a log line and goes on", async () => {
    const channel = "redis-malformed";
    const listener = await subscribed(channel);
    await xadd(channel, "payload", "no data field");
    await xadd(channel, "data", "bad name", "event", "evil\ndata: injected");
    await xadd(channel, "data", "reserved", "event", "relay.lost");
    await xadd(channel, "data", "x".repeat(5_000)); // over MAX_EVENT_BYTES=4096
    await xadd(channel, "data", "good");
    const lastId = await xadd(channel, "data", "marker"); // read after everything above
    await until(
      () => listener.received.some((event) => event.data === "marker"),
      () => "marker entry never arrived",
    );
    listener.close();
    expect(listener.received.map((event) => event.data)).toEqual(["good", "marker"]);
    const redis = (await channelStats(relay.url, channel)).redis as { cursor: string };
    expect(redis.cursor).toBe(lastId);
    // wrangler forwards the relay's log lines on its own schedule: wait for the line.
    await until(
      () => relay.output().includes('"msg":"redis entry skipped"'),
      () => "no 'redis entry skipped' log line",
    );
  });

  it("keeps serving while Upstash is unreachable or Redis is down, then delivers the backlog once, in order", async () => {
    const channel = "redis-outage";
    const listener = await subscribed(channel);
    await xadd(channel, "data", "before");
    await until(
      () => listener.received.length === 1,
      () => "before",
    );

    // Upstash unreachable: the bridge is gone.
    await stack.stopBridge();
    for (const n of [1, 2, 3]) await xadd(channel, "data", `queued ${n}`);
    await publishTo(relay.url, channel, { data: "http during outage" });
    await until(
      () => listener.received.length === 2,
      () => "HTTP publish during outage",
    );
    // The outage shows in the channel's status (a failed poll), while HTTP stays live.
    await until(
      async () => {
        const during = (await channelStats(relay.url, channel)).redis as {
          lastPoll: { ok: boolean } | null;
          consecutiveFailures: number;
        };
        return during.lastPoll?.ok === false && during.consecutiveFailures > 0;
      },
      () => "no failed poll recorded while the bridge was down",
    );
    await stack.startBridge();
    await until(
      () => listener.received.length === 5,
      () => JSON.stringify(listener.received.map((e) => e.data)),
      40_000,
    );

    // Redis itself down: the REST endpoint answers errors.
    await stack.stopRedis();
    await until(
      async () =>
        ((await channelStats(relay.url, channel)).redis as { lastPoll: { ok: boolean } | null }).lastPoll?.ok === false,
      () => "no failed poll recorded while Redis was down",
    );
    await publishTo(relay.url, channel, { data: "http while redis down" });
    await stack.startRedis();
    // A fresh, empty Redis (no persistence in tests): new entries still arrive.
    await xadd(channel, "data", "after restart");
    await until(
      () => listener.received.length === 7,
      () => JSON.stringify(listener.received.map((e) => e.data)),
      40_000,
    );
    await xadd(channel, "data", "marker"); // polled after anything that could still come twice
    await until(
      () => listener.received.some((event) => event.data === "marker"),
      () => JSON.stringify(listener.received.map((e) => e.data)),
    );
    listener.close();
    expect(listener.received.map((event) => event.data)).toEqual([
      "before",
      "http during outage",
      "queued 1",
      "queued 2",
      "queued 3",
      "http while redis down",
      "after restart",
      "marker",
    ]);
    expect(listener.received.map((event) => event.id)).toEqual(["1", "2", "3", "4", "5", "6", "7", "8"]);
  });

  it("treats a slow Upstash as a failed poll: backs off, keeps HTTP live, then delivers the backlog once", async () => {
    const channel = "redis-slow";
    const listener = await subscribed(channel);
    stack.bridge.setLatency(3_000); // every answer now takes longer than REDIS_TIMEOUT_MS=500
    try {
      for (const n of [1, 2]) await xadd(channel, "data", `slow ${n}`);
      await publishTo(relay.url, channel, { data: "http while slow" });
      await until(
        () => listener.received.length === 1,
        () => "HTTP publish held up by a slow Redis",
      );
      await until(
        async () =>
          ((await channelStats(relay.url, channel)).redis as { lastPoll: { ok: boolean } | null }).lastPoll?.ok ===
          false,
        () => "no failed poll recorded",
        10_000,
      );
      const status = (await channelStats(relay.url, channel)).redis as { lastPoll: { error: string } };
      expect(status.lastPoll.error).toMatch(/abort|timeout|time/i);
    } finally {
      stack.bridge.setLatency(0);
    }
    await until(
      () => listener.received.length === 3,
      () => JSON.stringify(listener.received.map((e) => e.data)),
      40_000,
    );
    await xadd(channel, "data", "marker"); // polled after anything that could still come twice
    await until(
      () => listener.received.some((event) => event.data === "marker"),
      () => JSON.stringify(listener.received.map((e) => e.data)),
    );
    listener.close();
    expect(listener.received.map((event) => event.data)).toEqual(["http while slow", "slow 1", "slow 2", "marker"]);
    expect(listener.received.map((event) => event.id)).toEqual(["1", "2", "3", "4"]);
  });

  it("neither loses nor repeats entries across a relay restart", async () => {
    const channel = "redis-restart";
    const listener = await subscribed(channel);
    for (const n of [1, 2, 3]) await xadd(channel, "data", `entry ${n}`);
    await until(
      () => listener.received.length === 3,
      () => `${listener.received.length}/3`,
    );

    await relay.stop();
    // Written while the relay is down.
    for (const n of [4, 5, 6]) await xadd(channel, "data", `entry ${n}`);
    await relay.restart();
    // The EventSource reconnects by itself with Last-Event-ID; polling resumes from the stored cursor.
    await until(
      () => listener.received.length >= 6,
      () => JSON.stringify(listener.received.map((e) => e.data)),
      30_000,
    );
    await xadd(channel, "data", "entry 7"); // the marker: polled after anything that could still come twice
    await until(
      () => listener.received.some((event) => event.data === "entry 7"),
      () => "entry 7",
    );
    listener.close();
    expect(listener.received.map((event) => event.data)).toEqual([1, 2, 3, 4, 5, 6, 7].map((n) => `entry ${n}`));
    expect(listener.received.map((event) => event.id)).toEqual(["1", "2", "3", "4", "5", "6", "7"]);
  });
});
