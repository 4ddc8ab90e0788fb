import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig, type RedisConfig } from "../../src/config";
import { RedisIngestState, entryToEvent } from "../../src/redis/ingest";
import { parseEntries } from "../../src/redis/stream-reader";

const limits = { maxEventBytes: 100, maxBatchEvents: 10 };
const entry = (fields: Record<string, string>) => ({ id: "1-0", fields: new Map(Object.entries(fields)) });

describe("Redis configuration", () => {
  it("is off without Upstash credentials, with documented defaults when on", () => {
    expect(parseConfig({}).redis).toBeNull();
    expect(
      parseConfig({
        UPSTASH_REDIS_REST_URL: "https://eu1.upstash.io/",
        UPSTASH_REDIS_REST_TOKEN: "t",
        REDIS_CHANNEL_PREFIXES: "orders-, page-",
      }).redis,
    ).toEqual({
      url: "https://eu1.upstash.io",
      token: "t",
      streamPrefix: "sse:",
      pollMs: 1000,
      batchSize: 100,
      startFrom: "end",
      timeoutMs: 5000,
      channelPrefixes: ["orders-", "page-"],
    });
  });

  it("needs REDIS_CHANNEL_PREFIXES, with * as the explicit every channel", () => {
    const upstash = { UPSTASH_REDIS_REST_URL: "https://eu1.upstash.io", UPSTASH_REDIS_REST_TOKEN: "t" };
    // The production template without it would let every anonymous stream poll Redis.
    expect(() => parseConfig(upstash)).toThrow(/^REDIS_CHANNEL_PREFIXES is required when Redis/);
    expect(() => parseConfig({ ...upstash, REDIS_CHANNEL_PREFIXES: " , " })).toThrow(/^REDIS_CHANNEL_PREFIXES /);
    expect(() => parseConfig({ ...upstash, REDIS_CHANNEL_PREFIXES: "*,orders-" })).toThrow(/^REDIS_CHANNEL_PREFIXES /);
    expect(() => parseConfig({ ...upstash, REDIS_CHANNEL_PREFIXES: "orders-*" })).toThrow(/^REDIS_CHANNEL_PREFIXES /);
    expect(parseConfig({ ...upstash, REDIS_CHANNEL_PREFIXES: "*" }).redis?.channelPrefixes).toEqual([""]);
    // Without Redis it is not needed (and ignored).
    expect(parseConfig({}).redis).toBeNull();
  });

  it("accepts plain http:// only for loopback hosts (the token would travel in clear)", () => {
    const withUrl = (url: string) => () =>
      parseConfig({ UPSTASH_REDIS_REST_URL: url, UPSTASH_REDIS_REST_TOKEN: "t", REDIS_CHANNEL_PREFIXES: "*" });
    for (const url of ["http://eu1.upstash.io", "http://10.0.0.5:8079", "http://127.example.com"]) {
      expect(withUrl(url), url).toThrow(/^UPSTASH_REDIS_REST_URL must use https:\/\//);
    }
    for (const url of [
      "http://127.0.0.1:8079",
      "http://localhost:8079",
      "http://bridge.localhost",
      "http://[::1]:80",
    ]) {
      expect(withUrl(url)().redis?.url, url).toBe(url);
    }
    expect(withUrl("https://user:pw@eu1.upstash.io")).toThrow(/must not contain a user name or password/);
  });

  it.each([
    [{ UPSTASH_REDIS_REST_TOKEN: "t" }, "UPSTASH_REDIS_REST_URL"],
    [{ UPSTASH_REDIS_REST_URL: "https://x.upstash.io" }, "UPSTASH_REDIS_REST_TOKEN"],
    [
      { UPSTASH_REDIS_REST_URL: "https://x.upstash.io", UPSTASH_REDIS_REST_TOKEN: "has space" },
      "UPSTASH_REDIS_REST_TOKEN",
    ],
    [{ UPSTASH_REDIS_REST_URL: "redis://x:6379", UPSTASH_REDIS_REST_TOKEN: "t" }, "UPSTASH_REDIS_REST_URL"],
    [
      { UPSTASH_REDIS_REST_URL: "https://x.upstash.io", UPSTASH_REDIS_REST_TOKEN: "t", REDIS_POLL_MS: "10" },
      "REDIS_POLL_MS",
    ],
    [
      { UPSTASH_REDIS_REST_URL: "https://x.upstash.io", UPSTASH_REDIS_REST_TOKEN: "t", REDIS_START: "middle" },
      "REDIS_START",
    ],
    [
      {
        UPSTASH_REDIS_REST_URL: "https://x.upstash.io",
        UPSTASH_REDIS_REST_TOKEN: "t",
        REDIS_STREAM_PREFIX: "has space",
      },
      "REDIS_STREAM_PREFIX",
    ],
  ])("refuses %j naming %s", (raw, variable) => {
    expect(() => parseConfig(raw)).toThrow(ConfigError);
    expect(() => parseConfig(raw)).toThrow(new RegExp(`^${variable} `));
  });
});

describe("stream entries", () => {
  it("parses XRANGE replies, first occurrence of a field winning", () => {
    const entries = parseEntries([
      ["1-0", ["data", "a", "event", "e", "data", "ignored"]],
      ["2-0", ["data", "b"]],
    ]);
    expect(entries.map((e) => [e.id, Object.fromEntries(e.fields)])).toEqual([
      ["1-0", { data: "a", event: "e" }],
      ["2-0", { data: "b" }],
    ]);
    expect(parseEntries(null)).toEqual([]);
    expect(() => parseEntries({ not: "an array" })).toThrow(/unexpected XRANGE reply/);
    expect(() => parseEntries([["1-0", "flat"]])).toThrow(/unexpected XRANGE entry/);
  });

  it("turns entries into events with the publish rules, skipping what a publish would refuse", () => {
    expect(entryToEvent(entry({ data: "x" }), limits)).toEqual({ event: { data: "x" } });
    expect(entryToEvent(entry({ data: "123", event: "n" }), limits)).toEqual({ event: { data: "123", event: "n" } });
    expect(entryToEvent(entry({ payload: "x" }), limits)).toEqual({ skipped: 'no "data" field' });
    expect(entryToEvent(entry({ data: "x", event: "a\nb" }), limits)).toMatchObject({
      skipped: expect.stringMatching(/CR, LF or NUL/),
    });
    expect(entryToEvent(entry({ data: "x", event: "relay.lost" }), limits)).toMatchObject({
      skipped: expect.stringMatching(/reserved/),
    });
    expect(entryToEvent(entry({ data: "x".repeat(101) }), limits)).toMatchObject({
      skipped: expect.stringMatching(/MAX_EVENT_BYTES/),
    });
  });
});

describe("ingest state", () => {
  const config: RedisConfig = {
    url: "https://x",
    token: "t",
    streamPrefix: "sse:",
    pollMs: 1000,
    batchSize: 10,
    startFrom: "end",
    timeoutMs: 5000,
    channelPrefixes: [""],
  };

  it("stores the cursor durably, and backs off with jitter after failures", async () => {
    const stub = env.CHANNELS.get(env.CHANNELS.idFromName("ingest-state"));
    await runInDurableObject(stub, (_instance, state) => {
      const ingest = new RedisIngestState(state.storage.sql, config, "orders");
      expect([ingest.streamKey, ingest.cursor]).toEqual(["sse:orders", null]);
      ingest.setCursor("5-0");
      const reopened = new RedisIngestState(state.storage.sql, config, "orders");
      expect([reopened.streamKey, reopened.cursor]).toEqual(["sse:orders", "5-0"]);

      expect(ingest.nextDelayMs(false)).toBe(1000);
      expect(ingest.nextDelayMs(true)).toBe(0);
      ingest.recordFailure(new Error('fetch failed, command was: ["XRANGE"]'));
      const first = ingest.nextDelayMs(false);
      expect(first).toBeGreaterThanOrEqual(1000);
      expect(first).toBeLessThanOrEqual(2000);
      for (let i = 0; i < 20; i++) ingest.recordFailure(new Error("down"));
      expect(ingest.nextDelayMs(false)).toBeLessThanOrEqual(30_000);
      expect(ingest.status()).toMatchObject({ consecutiveFailures: 21, lastPoll: { ok: false, error: "down" } });
      ingest.recordSuccess(3);
      expect(ingest.status()).toMatchObject({ consecutiveFailures: 0, lastPoll: { ok: true, entries: 3 } });

      // A cursor belongs to a stream key: another prefix starts afresh instead of skipping entries.
      const otherPrefix = new RedisIngestState(state.storage.sql, { ...config, streamPrefix: "events:" }, "orders");
      expect(otherPrefix.streamKey).toBe("events:orders");
      expect(otherPrefix.cursor).toBeNull();
    });
  });

  it("polls only channels matching REDIS_CHANNEL_PREFIXES (* is every channel but the relay's own)", async () => {
    const stub = env.CHANNELS.get(env.CHANNELS.idFromName("ingest-prefixes"));
    await runInDurableObject(stub, (_instance, state) => {
      const polled = (channel: string, channelPrefixes = config.channelPrefixes) =>
        new RedisIngestState(state.storage.sql, { ...config, channelPrefixes }, channel).isPolled;
      expect(polled("anything")).toBe(true);
      // The relay's own objects (the Mercure hub's log) are never fed from outside, even with *.
      expect(polled("~mercure")).toBe(false);
      const some = ["page-", "order-"];
      expect([polled("page-1", some), polled("order-9", some), polled("random-x", some)]).toEqual([true, true, false]);
      expect(new RedisIngestState(state.storage.sql, config, "~mercure").streamKey).toBeNull();
    });
  });
});
