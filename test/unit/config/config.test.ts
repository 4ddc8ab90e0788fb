import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../../src/config";

describe("parseConfig", () => {
  it("gives documented defaults for an empty environment (publishing off, no origins)", () => {
    expect(parseConfig({})).toEqual({
      publishTokens: [],
      allowedOrigins: [],
      allowCredentials: false,
      heartbeatMs: 15_000,
      retryMs: 2_000,
      historyLimit: 1_000,
      maxEventBytes: 65_536,
      maxBodyBytes: 1_048_576,
      maxBatchEvents: 500,
      redis: null,
      demoEnabled: false,
      privateChannelPrefixes: ["private-"],
      subscribeJwtSecret: null,
      subscribeTokenCookie: "sse_token",
      publishJwtSecret: null,
      maxSubscribersPerChannel: 100_000,
      maxStreamsPerClient: 100,
      maxChannelsPerStream: 16,
      maxStreamSeconds: 3_600,
      maxChannelNameLength: 128,
      relayHosts: [],
      idempotencyTtlSeconds: 86_400,
      directChannelPrefixes: [],
      fanout: { threshold: 1_000, size: 1_000, maxObjects: 99 },
      streamBufferBytes: 65_536,
      deprecated: [],
      streamCpuBudgetMs: 5,
      testHooks: false,
      replay: { bytesPerSecond: 1_048_576, maxBytesPerStream: 8_388_608, concurrency: 16 },
      presence: { channelPrefixes: [], intervalMs: 2_000 },
      mercure: null,
    });
  });

  it("one stream buffer for both modes: STREAM_BUFFER_BYTES, else the deprecated MAX_BUFFERED_BYTES (noted)", () => {
    expect(parseConfig({ STREAM_BUFFER_BYTES: "4096" })).toMatchObject({ streamBufferBytes: 4_096, deprecated: [] });
    expect(parseConfig({ MAX_BUFFERED_BYTES: "8192" })).toMatchObject({
      streamBufferBytes: 8_192,
      deprecated: [["MAX_BUFFERED_BYTES", "STREAM_BUFFER_BYTES"]],
    });
    expect(parseConfig({ STREAM_BUFFER_BYTES: "4096", MAX_BUFFERED_BYTES: "8192" })).toMatchObject({
      streamBufferBytes: 4_096,
      deprecated: [],
    });
  });

  it("splits and trims lists", () => {
    const config = parseConfig({
      PUBLISH_TOKENS: " one , two,, ",
      ALLOWED_ORIGINS: "https://a.example.com, https://*.example.org/ ,http://localhost:3000",
      ALLOW_CREDENTIALS: "true",
    });
    expect(config.publishTokens).toEqual(["one", "two"]);
    expect(config.allowedOrigins).toEqual(["https://a.example.com", "https://*.example.org", "http://localhost:3000"]);
    expect(config.allowCredentials).toBe(true);
  });

  const bad: [string, Record<string, string>, string][] = [
    ["non-number", { HEARTBEAT_MS: "soon" }, "HEARTBEAT_MS"],
    ["below minimum", { HISTORY_LIMIT: "0" }, "HISTORY_LIMIT"],
    ["fraction", { RETRY_MS: "1.5" }, "RETRY_MS"],
    ["negative", { MAX_EVENT_BYTES: "-5" }, "MAX_EVENT_BYTES"],
    ["above maximum", { MAX_BATCH_EVENTS: "100000" }, "MAX_BATCH_EVENTS"],
    ["bad boolean", { ALLOW_CREDENTIALS: "yes please" }, "ALLOW_CREDENTIALS"],
    ["presence interval too short", { PRESENCE_INTERVAL_MS: "10" }, "PRESENCE_INTERVAL_MS"],
    ["presence prefix with a slash", { PRESENCE_CHANNEL_PREFIXES: "room/" }, "PRESENCE_CHANNEL_PREFIXES"],
    ["origin without scheme", { ALLOWED_ORIGINS: "example.com" }, "ALLOWED_ORIGINS"],
    ["origin with path", { ALLOWED_ORIGINS: "https://example.com/app" }, "ALLOWED_ORIGINS"],
    ["token with a space", { PUBLISH_TOKENS: "good,bad token" }, "PUBLISH_TOKENS"],
    ["buffer below 1 KiB", { STREAM_BUFFER_BYTES: "1000" }, "STREAM_BUFFER_BYTES"],
    ["deprecated buffer name below 1 KiB", { MAX_BUFFERED_BYTES: "1000" }, "MAX_BUFFERED_BYTES"],
    ["short JWT secret", { SUBSCRIBE_JWT_SECRET: "too-short" }, "SUBSCRIBE_JWT_SECRET"],
    ["short publisher JWT secret", { PUBLISH_JWT_SECRET: "x".repeat(31) }, "PUBLISH_JWT_SECRET"],
    ["host with scheme", { RELAY_HOSTS: "https://sse.example.com" }, "RELAY_HOSTS"],
    ["shard pattern without SHARDS", { RELAY_HOSTS: "sse{n}.example.com" }, "RELAY_HOSTS"],
    ["shard pattern with two placeholders", { RELAY_HOSTS: "s{n}.sse{n}.example.com", SHARDS: "2" }, "RELAY_HOSTS"],
    ["shard pattern that is no hostname", { RELAY_HOSTS: "https://sse{n}.example.com", SHARDS: "2" }, "RELAY_HOSTS"],
    ["too many shards", { RELAY_HOSTS: "sse{n}.example.com", SHARDS: "101" }, "SHARDS"],
    ["private prefix with a bad character", { PRIVATE_CHANNEL_PREFIXES: "private$" }, "PRIVATE_CHANNEL_PREFIXES"],
    ["bad cookie name", { SUBSCRIBE_TOKEN_COOKIE: "a b" }, "SUBSCRIBE_TOKEN_COOKIE"],
    ["channel length above 256", { MAX_CHANNEL_NAME_LENGTH: "300" }, "MAX_CHANNEL_NAME_LENGTH"],
  ];
  it.each(bad)("refuses %s, naming the variable", (_name, raw, variable) => {
    let error: unknown;
    try {
      parseConfig(raw);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).variable).toBe(variable);
    expect((error as ConfigError).message).toMatch(new RegExp(`^${variable} `));
  });

  it("expands RELAY_HOSTS shard patterns to exactly SHARDS hosts", () => {
    expect(parseConfig({ RELAY_HOSTS: "SSE.example.com., sse{n}.example.com", SHARDS: "3" }).relayHosts).toEqual([
      "sse.example.com",
      "sse0.example.com",
      "sse1.example.com",
      "sse2.example.com",
    ]);
    expect(parseConfig({ RELAY_HOSTS: "sse.example.com,s{n}.sse.example.com", SHARDS: "2" }).relayHosts).toEqual([
      "sse.example.com",
      "s0.sse.example.com",
      "s1.sse.example.com",
    ]);
  });

  it("turns private channels off with an empty PRIVATE_CHANNEL_PREFIXES", () => {
    expect(parseConfig({ PRIVATE_CHANNEL_PREFIXES: "" }).privateChannelPrefixes).toEqual([]);
    expect(parseConfig({ PRIVATE_CHANNEL_PREFIXES: "private-,team:" }).privateChannelPrefixes).toEqual([
      "private-",
      "team:",
    ]);
  });

  it("never puts a token's value in an error message", () => {
    expect(() => parseConfig({ PUBLISH_TOKENS: "secret value" })).toThrow(/entry 1/);
    expect(() => parseConfig({ PUBLISH_TOKENS: "secret value" })).not.toThrow(/secret/);
  });
});

describe("Mercure hub settings", () => {
  const key = { MERCURE_PUBLISHER_JWT_KEY: "k".repeat(32), MERCURE_PUBLISHER_JWT_ISSUER: "https://app.example.com" };

  it("is off without a publisher key; on with one, the subscriber key defaulting to it", () => {
    expect(parseConfig({}).mercure).toBeNull();
    const hub = parseConfig(key).mercure!;
    expect(hub).toMatchObject({ mode: "draft", anonymous: false, resource: null, maxMatchers: 32 });
    expect(hub.subscriberKey).toEqual(hub.publisherKey);
    expect(hub.publisherKey.issuer).toBe("https://app.example.com");
  });

  it("draft-08 binds every key to an issuer: none for the publisher key is an error naming the setting", () => {
    const { MERCURE_PUBLISHER_JWT_ISSUER: _issuer, ...noIssuer } = key;
    for (const raw of [
      noIssuer,
      { ...noIssuer, MERCURE_PUBLISHER_JWT_ISSUER: " " },
      { ...noIssuer, MERCURE_PROTOCOL: "8" },
    ]) {
      expect(() => parseConfig(raw)).toThrow(/^MERCURE_PUBLISHER_JWT_ISSUER must be set/);
    }
    // The pre-standard protocol has no such rule.
    expect(parseConfig({ ...noIssuer, MERCURE_PROTOCOL: "legacy" }).mercure!.publisherKey.issuer).toBeUndefined();
  });

  it("a subscriber key has its own issuer, or the publisher key's", () => {
    const subscriber = { ...key, MERCURE_SUBSCRIBER_JWT_KEY: "s".repeat(32) };
    expect(parseConfig(subscriber).mercure!.subscriberKey).toMatchObject({ issuer: "https://app.example.com" });
    const own = { ...subscriber, MERCURE_SUBSCRIBER_JWT_ISSUER: "https://as.example.com" };
    expect(parseConfig(own).mercure!.subscriberKey).toMatchObject({ issuer: "https://as.example.com" });
  });

  it("allows the token cookie cross-origin only where the operator says so", () => {
    const inherited = { ...key, ALLOWED_ORIGINS: "https://app.example.com" };
    expect(parseConfig(inherited).mercure!.corsCredentials).toBe(false);
    expect(parseConfig({ ...inherited, ALLOW_CREDENTIALS: "true" }).mercure!.corsCredentials).toBe(true);
    expect(parseConfig({ ...key, MERCURE_CORS_ORIGINS: "https://app.example.com" }).mercure!.corsCredentials).toBe(
      true,
    );
    expect(parseConfig({ ...key, MERCURE_CORS_ORIGINS: "*" }).mercure!.corsCredentials).toBe(false);
  });

  it("refuses * in MERCURE_PUBLISH_ORIGINS, an unknown algorithm or protocol, a relative resource", () => {
    for (const [name, value] of [
      ["MERCURE_PUBLISH_ORIGINS", "*"],
      ["MERCURE_PUBLISHER_JWT_ALG", "none"],
      ["MERCURE_PROTOCOL", "7"],
      ["MERCURE_RESOURCE", "/.well-known/mercure"],
    ] as const) {
      expect(() => parseConfig({ ...key, [name]: value }), name).toThrow(ConfigError);
    }
  });
});
