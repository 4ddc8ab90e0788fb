/**
 * Relay configuration: wrangler `[vars]` and secrets, validated once into a
 * typed object. A bad value throws a ConfigError that names the variable, so
 * a misconfigured deployment says exactly what to fix.
 */
import type { ReplaySettings } from "./channel/replay-limits";
import type { PresenceSettings } from "./channel/presence";
import { isMercureAlgorithm, type MercureAlgorithm } from "./mercure/auth";
import { MERCURE_LIMITS } from "./mercure/limits";
import type { MercureMode } from "./mercure/protocol";
import { oncePer } from "./once-per";
import { expandHostEntry, MAX_SHARDS } from "./shard-hosts";

/** The raw strings the platform hands us (all optional: absent means default). */
export interface RawConfig {
  PUBLISH_TOKENS?: string;
  ALLOWED_ORIGINS?: string;
  ALLOW_CREDENTIALS?: string;
  HEARTBEAT_MS?: string;
  RETRY_MS?: string;
  HISTORY_LIMIT?: string;
  MAX_EVENT_BYTES?: string;
  MAX_BODY_BYTES?: string;
  MAX_BATCH_EVENTS?: string;
  MAX_BUFFERED_BYTES?: string;
  UPSTASH_REDIS_REST_URL?: string;
  UPSTASH_REDIS_REST_TOKEN?: string;
  REDIS_STREAM_PREFIX?: string;
  REDIS_POLL_MS?: string;
  REDIS_BATCH_SIZE?: string;
  REDIS_START?: string;
  REDIS_TIMEOUT_MS?: string;
  REDIS_CHANNEL_PREFIXES?: string;
  DEMO_ENABLED?: string;
  PRIVATE_CHANNEL_PREFIXES?: string;
  SUBSCRIBE_JWT_SECRET?: string;
  SUBSCRIBE_TOKEN_COOKIE?: string;
  PUBLISH_JWT_SECRET?: string;
  MAX_SUBSCRIBERS_PER_CHANNEL?: string;
  MAX_STREAM_SECONDS?: string;
  MAX_CHANNEL_NAME_LENGTH?: string;
  RELAY_HOSTS?: string;
  SHARDS?: string;
  IDEMPOTENCY_TTL_SECONDS?: string;
  DIRECT_CHANNEL_PREFIXES?: string;
  FANOUT_THRESHOLD?: string;
  FANOUT_SIZE?: string;
  STREAM_BUFFER_BYTES?: string;
  STREAM_CPU_BUDGET_MS?: string;
  RELAY_TEST_HOOKS?: string;
  REPLAY_BYTES_PER_SECOND?: string;
  REPLAY_MAX_BYTES_PER_STREAM?: string;
  REPLAY_CONCURRENCY?: string;
  MAX_STREAMS_PER_CLIENT?: string;
  PRESENCE_CHANNEL_PREFIXES?: string;
  PRESENCE_INTERVAL_MS?: string;
  MERCURE_PUBLISHER_JWT_KEY?: string;
  MERCURE_PUBLISHER_JWT_ALG?: string;
  MERCURE_PUBLISHER_JWT_ISSUER?: string;
  MERCURE_SUBSCRIBER_JWT_KEY?: string;
  MERCURE_SUBSCRIBER_JWT_ALG?: string;
  MERCURE_SUBSCRIBER_JWT_ISSUER?: string;
  MERCURE_ANONYMOUS?: string;
  MERCURE_CORS_ORIGINS?: string;
  MERCURE_PUBLISH_ORIGINS?: string;
  MERCURE_RESOURCE?: string;
  MERCURE_ISSUERS?: string;
  MERCURE_PROTOCOL?: string;
  MERCURE_MAX_MATCHERS?: string;
  MAX_CHANNELS_PER_STREAM?: string;
}

/** Redis Stream ingestion over Upstash's REST API; null when not configured. */
export interface RedisConfig {
  readonly url: string;
  readonly token: string;
  /** Stream key of a channel: prefix + channel name. */
  readonly streamPrefix: string;
  readonly pollMs: number;
  /** Entries read per XRANGE call. */
  readonly batchSize: number;
  /** Where a channel's first poll starts: the stream's current end, or its beginning. */
  readonly startFrom: "end" | "beginning";
  /** A poll that takes longer fails (and backs off) instead of holding the alarm. */
  readonly timeoutMs: number;
  /**
   * Only channels starting with one of these are polled, to bound Redis commands. Required when
   * Redis is configured; `*` (every channel) is the empty prefix `""`.
   */
  readonly channelPrefixes: readonly string[];
}

export interface RelayConfig {
  /** Accepted publish bearer tokens. Empty: publishing is refused (503), never open. */
  readonly publishTokens: readonly string[];
  /** Origins allowed to read streams cross-origin: exact origins, `*`, or `https://*.example.com` patterns. */
  readonly allowedOrigins: readonly string[];
  /** Send `Access-Control-Allow-Credentials: true` (then `*` is never answered). */
  readonly allowCredentials: boolean;
  readonly heartbeatMs: number;
  readonly retryMs: number;
  /** Events kept per channel for Last-Event-ID replay. */
  readonly historyLimit: number;
  /** Largest `data` of one event, in UTF-8 bytes. */
  readonly maxEventBytes: number;
  /** Largest publish request body, in bytes. */
  readonly maxBodyBytes: number;
  readonly maxBatchEvents: number;
  readonly redis: RedisConfig | null;
  /** Serve the /demo page and its token-less edit endpoint (development only). */
  readonly demoEnabled: boolean;
  /** Channels whose name starts with one of these need a subscriber token. */
  readonly privateChannelPrefixes: readonly string[];
  /** HS256 secret of subscriber JWTs; null: private channels answer 503. */
  readonly subscribeJwtSecret: string | null;
  /** Cookie that may carry the subscriber JWT (EventSource cannot set headers). */
  readonly subscribeTokenCookie: string;
  /** HS256 secret of scoped publisher JWTs; null: only PUBLISH_TOKENS publish. */
  readonly publishJwtSecret: string | null;
  readonly maxSubscribersPerChannel: number;
  /** Streams one client (token subject, or address; IPv6 by /64) may hold on one channel, per object. */
  readonly maxStreamsPerClient: number;
  /** Channels one multi-channel stream (GET /v1/events?channel=…) may carry. */
  readonly maxChannelsPerStream: number;
  /** A stream is closed cleanly after this long; the browser resumes with Last-Event-ID. */
  readonly maxStreamSeconds: number;
  readonly maxChannelNameLength: number;
  /** Hostnames served, exactly (shard patterns expanded); empty: any host. */
  readonly relayHosts: readonly string[];
  /** How long an Idempotency-Key is remembered. */
  readonly idempotencyTtlSeconds: number;
  /** Channels starting with one of these are served in direct mode (the object holds the streams). */
  readonly directChannelPrefixes: readonly string[];
  readonly fanout: FanoutConfig;
  /**
   * Unsent bytes one subscriber's stream may hold, in either mode (src/stream/outlet.ts): past it a
   * hibernating stream catches up from history as it drains, and a direct-mode one already half that
   * far behind is cut (its browser resumes from history). An empty queue always takes one frame.
   * STREAM_BUFFER_BYTES; the older MAX_BUFFERED_BYTES is read when it is not set (deprecated).
   */
  readonly streamBufferBytes: number;
  /** Settings read under a deprecated name: [old name, the name to use], for a log line. */
  readonly deprecated: readonly (readonly [string, string])[];
  /** Hibernating mode: modelled CPU (ms) one stream may spend before it ends cleanly and the browser resumes. */
  readonly streamCpuBudgetMs: number;
  /** Loopback-only hooks for end-to-end fault tests (src/test-hooks). */
  readonly testHooks: boolean;
  /** Bounds on history replay, per stream and per channel (src/channel/replay-limits.ts). */
  readonly replay: ReplaySettings;
  /** Subscriber counts shown to subscribers of these channels (src/channel/presence.ts). */
  readonly presence: PresenceSettings;
  /** The Mercure hub at /.well-known/mercure; null (404) until MERCURE_PUBLISHER_JWT_KEY is set. */
  readonly mercure: MercureConfig | null;
}

/** A JWT verification key, the one algorithm it is used with (never taken from the token), and its issuer. */
export interface JwtKeySetting {
  readonly key: string;
  readonly alg: MercureAlgorithm;
  /**
   * Tokens verified with this key must carry this `iss`. Always set in draft mode (the subscriber key
   * inherits the publisher's when MERCURE_SUBSCRIBER_JWT_ISSUER is unset); optional in the pre-standard mode.
   */
  readonly issuer?: string;
}

/** Settings of the Mercure hub, named after the reference hub's (publisher_jwt, subscriber_jwt, anonymous…). */
export interface MercureConfig {
  /** MERCURE_PROTOCOL "8": draft-dunglas-mercure-08; "legacy": the pre-standard protocol (topic=, `mercure` claim…). */
  readonly mode: MercureMode;
  readonly publisherKey: JwtKeySetting;
  /** Verifies subscribers' tokens; defaults to the publisher's key. */
  readonly subscriberKey: JwtKeySetting;
  /** Subscribers without a token receive public updates (otherwise 401). */
  readonly anonymous: boolean;
  /** Origins whose pages may subscribe; defaults to ALLOWED_ORIGINS. */
  readonly corsOrigins: readonly string[];
  /**
   * Whether those pages may send the token cookie: with MERCURE_CORS_ORIGINS set (and no `*`), or,
   * inheriting ALLOWED_ORIGINS, as ALLOW_CREDENTIALS says.
   */
  readonly corsCredentials: boolean;
  /** Origins a cookie-authenticated publish may come from (cross-site request forgery guard). */
  readonly publishOrigins: readonly string[];
  /** The hub's OAuth resource identifier (tokens' `aud`); null: the hub's own URL. */
  readonly resource: string | null;
  /**
   * Authorization servers the hub advertises (metadata `authorization_servers`); when any, a token's
   * `iss` must also be one of them. Empty: self-issued tokens, bound by each key's issuer.
   */
  readonly issuers: readonly string[];
  /** Topic matchers one subscription may carry. */
  readonly maxMatchers: number;
}

/** Hibernating mode: when and how subscribers spread over fan-out objects. */
interface FanoutConfig {
  /** Subscribers the channel object holds itself; past this, new ones attach to fan-out objects. */
  readonly threshold: number;
  /** Subscribers per fan-out object. */
  readonly size: number;
  /** Fan-out objects a channel may have: what MAX_SUBSCRIBERS_PER_CHANNEL leaves past the threshold. */
  readonly maxObjects: number;
}

/**
 * Settings whose values are secrets (set with `wrangler secret put`). Their values never appear in
 * an error message, an answer or a log line: ConfigError shows a value only for other settings,
 * and parseConfig redacts any that slipped into a message all the same.
 */
export const SECRET_SETTINGS = [
  "PUBLISH_TOKENS",
  "SUBSCRIBE_JWT_SECRET",
  "PUBLISH_JWT_SECRET",
  "UPSTASH_REDIS_REST_URL",
  "UPSTASH_REDIS_REST_TOKEN",
  "MERCURE_PUBLISHER_JWT_KEY",
  "MERCURE_SUBSCRIBER_JWT_KEY",
] as const satisfies readonly (keyof RawConfig)[];

function isSecretSetting(variable: keyof RawConfig): boolean {
  return (SECRET_SETTINGS as readonly string[]).includes(variable);
}

/**
 * A bad setting: names the variable and the problem. The offending value (`got`) is shown only
 * for settings that are not secret, so a message can be logged and answered as it is.
 */
export class ConfigError extends Error {
  constructor(
    readonly variable: keyof RawConfig,
    problem: string,
    got?: string,
  ) {
    super(`${variable} ${problem}${describeValue(variable, got)}`);
    this.name = "ConfigError";
  }
}

function describeValue(variable: keyof RawConfig, got: string | undefined): string {
  if (got === undefined) return "";
  return isSecretSetting(variable) ? " (the value is a secret and is not shown)" : `, got ${JSON.stringify(got)}`;
}

const REDACTED = "[secret]";

/** Belt and braces: replaces every secret's value (its list entries, a URL's password) a message might contain. */
function redactSecrets(message: string, raw: RawConfig): string {
  const values = new Set<string>();
  for (const name of SECRET_SETTINGS) {
    const value = raw[name];
    if (value === undefined) continue;
    const password = /^[a-z][a-z0-9+.-]*:\/\/[^/@]*?:([^/@]*)@/i.exec(value.trim())?.[1];
    for (const part of [value, value.trim(), ...value.split(","), password ?? ""]) {
      const trimmed = part.trim();
      if (trimmed.length >= 4) values.add(trimmed);
    }
  }
  let redacted = message;
  for (const value of [...values].sort((a, b) => b.length - a.length)) redacted = redacted.split(value).join(REDACTED);
  return redacted;
}

/** Publish tokens travel in `Authorization: Bearer`, so they must fit RFC 6750's token68 syntax. */
const BEARER_TOKEN = /^[A-Za-z0-9._~+/-]+=*$/;
const CHANNEL_PREFIX = /^[A-Za-z0-9._:-]+$/;
/** A DNS hostname in lower case: non-empty labels of letters, digits and inner hyphens. */
export const HOSTNAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;
const ORIGIN_PATTERN = /^(\*|https?:\/\/(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?)$/;

/** 1,000 on the channel object plus 99 fan-out objects of 1,000 (docs/COSTS.md). */
const DEFAULT_MAX_SUBSCRIBERS = 100_000;

export function parseConfig(raw: RawConfig): RelayConfig {
  try {
    return parseValidated(raw);
  } catch (error) {
    if (error instanceof ConfigError) {
      const message = redactSecrets(error.message, raw);
      if (message !== error.message) throw Object.assign(error, { message });
    }
    throw error;
  }
}

function parseValidated(raw: RawConfig): RelayConfig {
  const maxSubscribersPerChannel = parseInteger(
    "MAX_SUBSCRIBERS_PER_CHANNEL",
    raw.MAX_SUBSCRIBERS_PER_CHANNEL,
    DEFAULT_MAX_SUBSCRIBERS,
    1,
    10_000_000,
  );
  const allowedOrigins = parseOrigins(raw.ALLOWED_ORIGINS);
  const allowCredentials = parseBoolean("ALLOW_CREDENTIALS", raw.ALLOW_CREDENTIALS, false);
  const config: RelayConfig = {
    publishTokens: parsePublishTokens(raw.PUBLISH_TOKENS),
    allowedOrigins,
    allowCredentials,
    heartbeatMs: parseInteger("HEARTBEAT_MS", raw.HEARTBEAT_MS, 15_000, 50, 90_000),
    retryMs: parseInteger("RETRY_MS", raw.RETRY_MS, 2_000, 0, 600_000),
    historyLimit: parseInteger("HISTORY_LIMIT", raw.HISTORY_LIMIT, 1_000, 1, 1_000_000),
    maxEventBytes: parseInteger("MAX_EVENT_BYTES", raw.MAX_EVENT_BYTES, 65_536, 1, 1_048_576),
    maxBodyBytes: parseInteger("MAX_BODY_BYTES", raw.MAX_BODY_BYTES, 1_048_576, 1_024, 100 * 1_048_576),
    maxBatchEvents: parseInteger("MAX_BATCH_EVENTS", raw.MAX_BATCH_EVENTS, 500, 1, 10_000),
    redis: parseRedis(raw),
    demoEnabled: parseBoolean("DEMO_ENABLED", raw.DEMO_ENABLED, false),
    privateChannelPrefixes: parsePrefixes(raw.PRIVATE_CHANNEL_PREFIXES),
    subscribeJwtSecret: parseSecret("SUBSCRIBE_JWT_SECRET", raw.SUBSCRIBE_JWT_SECRET),
    subscribeTokenCookie: parseCookieName(raw.SUBSCRIBE_TOKEN_COOKIE),
    publishJwtSecret: parseSecret("PUBLISH_JWT_SECRET", raw.PUBLISH_JWT_SECRET),
    maxSubscribersPerChannel,
    maxStreamsPerClient: parseInteger("MAX_STREAMS_PER_CLIENT", raw.MAX_STREAMS_PER_CLIENT, 100, 1, 10_000_000),
    maxChannelsPerStream: parseInteger("MAX_CHANNELS_PER_STREAM", raw.MAX_CHANNELS_PER_STREAM, 16, 1, 256),
    maxStreamSeconds: parseInteger("MAX_STREAM_SECONDS", raw.MAX_STREAM_SECONDS, 3_600, 1, 7 * 86_400),
    maxChannelNameLength: parseInteger("MAX_CHANNEL_NAME_LENGTH", raw.MAX_CHANNEL_NAME_LENGTH, 128, 1, 256),
    relayHosts: parseHosts(raw.RELAY_HOSTS, parseInteger("SHARDS", raw.SHARDS, 0, 0, MAX_SHARDS)),
    idempotencyTtlSeconds: parseInteger(
      "IDEMPOTENCY_TTL_SECONDS",
      raw.IDEMPOTENCY_TTL_SECONDS,
      86_400,
      60,
      30 * 86_400,
    ),
    directChannelPrefixes: parseChannelPrefixes("DIRECT_CHANNEL_PREFIXES", raw.DIRECT_CHANNEL_PREFIXES),
    fanout: parseFanout(raw, maxSubscribersPerChannel),
    streamBufferBytes: parseStreamBuffer(raw),
    deprecated:
      raw.STREAM_BUFFER_BYTES === undefined && raw.MAX_BUFFERED_BYTES !== undefined
        ? [["MAX_BUFFERED_BYTES", "STREAM_BUFFER_BYTES"]]
        : [],
    streamCpuBudgetMs: parseInteger("STREAM_CPU_BUDGET_MS", raw.STREAM_CPU_BUDGET_MS, 5, 1, 300_000),
    testHooks: parseBoolean("RELAY_TEST_HOOKS", raw.RELAY_TEST_HOOKS, false),
    replay: {
      bytesPerSecond: parseInteger(
        "REPLAY_BYTES_PER_SECOND",
        raw.REPLAY_BYTES_PER_SECOND,
        1_048_576,
        1_024,
        1_073_741_824,
      ),
      maxBytesPerStream: parseInteger(
        "REPLAY_MAX_BYTES_PER_STREAM",
        raw.REPLAY_MAX_BYTES_PER_STREAM,
        8_388_608,
        1_024,
        1_073_741_824,
      ),
      concurrency: parseInteger("REPLAY_CONCURRENCY", raw.REPLAY_CONCURRENCY, 16, 1, 10_000),
    },
    presence: {
      channelPrefixes: parseChannelPrefixes("PRESENCE_CHANNEL_PREFIXES", raw.PRESENCE_CHANNEL_PREFIXES),
      intervalMs: parseInteger("PRESENCE_INTERVAL_MS", raw.PRESENCE_INTERVAL_MS, 2_000, 100, 60_000),
    },
    mercure: parseMercure(raw, allowedOrigins, allowCredentials),
  };
  // Credentials with every origin allowed would let any website read a visitor's private channels.
  if (config.allowCredentials && config.allowedOrigins.includes("*")) {
    throw new ConfigError(
      "ALLOW_CREDENTIALS",
      'cannot be true while ALLOWED_ORIGINS contains "*": list the origins that may send cookies',
    );
  }
  return config;
}

/**
 * One stream's byte budget (both modes): STREAM_BUFFER_BYTES, or the deprecated MAX_BUFFERED_BYTES
 * (direct mode's name before the two modes shared one stream) when only that is set.
 */
function parseStreamBuffer(raw: RawConfig): number {
  const legacy = raw.STREAM_BUFFER_BYTES === undefined && raw.MAX_BUFFERED_BYTES !== undefined;
  return legacy
    ? parseInteger("MAX_BUFFERED_BYTES", raw.MAX_BUFFERED_BYTES, 65_536, 1_024, 16 * 1_048_576)
    : parseInteger("STREAM_BUFFER_BYTES", raw.STREAM_BUFFER_BYTES, 65_536, 1_024, 16 * 1_048_576);
}

/** parseConfig, memoized per env object: the platform reuses env across requests. */
export const configFromEnv: (env: RawConfig) => RelayConfig = oncePer(parseConfig);

function list(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

function parsePublishTokens(value: string | undefined): string[] {
  const tokens = list(value);
  for (const [index, token] of tokens.entries()) {
    if (!BEARER_TOKEN.test(token)) {
      throw new ConfigError(
        "PUBLISH_TOKENS",
        `entry ${index + 1} has characters a bearer token cannot carry (allowed: A-Z a-z 0-9 . _ ~ + / - and trailing =)`,
      );
    }
  }
  return tokens;
}

function parseOrigins(value: string | undefined, name: keyof RawConfig = "ALLOWED_ORIGINS"): string[] {
  const origins = list(value).map((origin) => origin.replace(/\/+$/, ""));
  for (const origin of origins) {
    if (!ORIGIN_PATTERN.test(origin)) {
      throw new ConfigError(
        name,
        'has an entry that is not an origin (scheme://host[:port]), "*", or a pattern like https://*.example.com',
        origin,
      );
    }
  }
  return origins;
}

function parseRedis(raw: RawConfig): RedisConfig | null {
  const url = raw.UPSTASH_REDIS_REST_URL?.trim() ?? "";
  const token = raw.UPSTASH_REDIS_REST_TOKEN?.trim() ?? "";
  if (url === "" && token === "") return null;
  if (url === "") throw new ConfigError("UPSTASH_REDIS_REST_URL", "is required when UPSTASH_REDIS_REST_TOKEN is set");
  if (token === "") throw new ConfigError("UPSTASH_REDIS_REST_TOKEN", "is required when UPSTASH_REDIS_REST_URL is set");
  checkRestUrl(url);
  if (!BEARER_TOKEN.test(token)) {
    throw new ConfigError(
      "UPSTASH_REDIS_REST_TOKEN",
      "has characters a bearer token cannot carry (allowed: A-Z a-z 0-9 . _ ~ + / - and trailing =)",
    );
  }
  const prefix = raw.REDIS_STREAM_PREFIX ?? "sse:";
  if (/[\s]/.test(prefix) || prefix.length > 64) {
    throw new ConfigError("REDIS_STREAM_PREFIX", "must be at most 64 characters without spaces");
  }
  const start = (raw.REDIS_START ?? "end").trim().toLowerCase() || "end";
  if (start !== "end" && start !== "beginning") {
    throw new ConfigError("REDIS_START", 'must be "end" or "beginning"', raw.REDIS_START);
  }
  return {
    url: url.replace(/\/+$/, ""),
    token,
    streamPrefix: prefix,
    pollMs: parseInteger("REDIS_POLL_MS", raw.REDIS_POLL_MS, 1_000, 50, 60_000),
    batchSize: parseInteger("REDIS_BATCH_SIZE", raw.REDIS_BATCH_SIZE, 100, 1, 1_000),
    startFrom: start,
    timeoutMs: parseInteger("REDIS_TIMEOUT_MS", raw.REDIS_TIMEOUT_MS, 5_000, 100, 60_000),
    channelPrefixes: parseRedisChannelPrefixes(raw.REDIS_CHANNEL_PREFIXES),
  };
}

/** Hosts where plain http:// cannot leak the token onto a network. */
const LOOPBACK_HOST = /^(localhost|[a-z0-9-]+\.localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/**
 * The REST URL of an Upstash database. A secret: it may hold a password (the console's
 * rediss://default:<password>@… URL is an easy slip), so no message shows it.
 */
function checkRestUrl(value: string): void {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(value)?.[1]?.toLowerCase();
  if (scheme === "redis" || scheme === "rediss") {
    throw new ConfigError(
      "UPSTASH_REDIS_REST_URL",
      "is a redis:// or rediss:// URL (the Redis protocol, which holds the password); set the REST URL instead, https://<name>.upstash.io, and its token in UPSTASH_REDIS_REST_TOKEN",
      value,
    );
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError("UPSTASH_REDIS_REST_URL", "must be an https URL like https://<name>.upstash.io", value);
  }
  if ((url.protocol !== "https:" && url.protocol !== "http:") || !/^https?:\/\/[^\s/?#]+(\/\S*)?$/i.test(value)) {
    throw new ConfigError("UPSTASH_REDIS_REST_URL", "must be an https URL like https://<name>.upstash.io", value);
  }
  if (url.username !== "" || url.password !== "") {
    throw new ConfigError(
      "UPSTASH_REDIS_REST_URL",
      "must not contain a user name or password (the REST token goes in UPSTASH_REDIS_REST_TOKEN)",
      value,
    );
  }
  if (url.protocol === "http:" && !LOOPBACK_HOST.test(url.hostname)) {
    throw new ConfigError(
      "UPSTASH_REDIS_REST_URL",
      "must use https:// (plain http:// would send the token in clear; it is accepted only for localhost, 127.x.x.x and [::1])",
      value,
    );
  }
}

/**
 * Which channels poll Redis. Required with Redis: otherwise every anonymous stream on a random
 * name would poll Redis and store a cursor. `*` alone is the explicit "every channel" (`[""]`).
 */
function parseRedisChannelPrefixes(value: string | undefined): string[] {
  const prefixes = list(value);
  if (prefixes.length === 0) {
    throw new ConfigError(
      "REDIS_CHANNEL_PREFIXES",
      "is required when Redis ingestion is configured: list the channel prefixes your backends XADD to (e.g. orders-,page-), or * for every channel",
    );
  }
  if (prefixes.includes("*")) {
    if (prefixes.length > 1) throw new ConfigError("REDIS_CHANNEL_PREFIXES", "must be * alone or a list of prefixes");
    return [""];
  }
  return checkChannelPrefixes("REDIS_CHANNEL_PREFIXES", prefixes);
}

/** A list of channel-name prefixes, each checked against what a channel name may hold. */
function parseChannelPrefixes(name: keyof RawConfig, value: string | undefined): string[] {
  return checkChannelPrefixes(name, list(value));
}

function checkChannelPrefixes(name: keyof RawConfig, prefixes: string[]): string[] {
  for (const prefix of prefixes) {
    if (!CHANNEL_PREFIX.test(prefix)) {
      throw new ConfigError(name, "has an entry with characters a channel name cannot have", prefix);
    }
  }
  return prefixes;
}

function parseMercure(
  raw: RawConfig,
  allowedOrigins: readonly string[],
  allowCredentials: boolean,
): MercureConfig | null {
  const publisherKey = parseJwtKey(raw, "PUBLISHER");
  if (publisherKey === null) return null;
  const protocol = (raw.MERCURE_PROTOCOL ?? "").trim() || "8";
  if (protocol !== "8" && protocol !== "legacy") {
    throw new ConfigError(
      "MERCURE_PROTOCOL",
      'must be "8" (draft-dunglas-mercure-08) or "legacy" (the pre-standard protocol)',
      raw.MERCURE_PROTOCOL,
    );
  }
  const resource = raw.MERCURE_RESOURCE?.trim() ?? "";
  if (resource !== "" && !URL.canParse(resource)) {
    throw new ConfigError(
      "MERCURE_RESOURCE",
      "must be an absolute URI (the hub's resource identifier, tokens' aud)",
      resource,
    );
  }
  const ownOrigins = raw.MERCURE_CORS_ORIGINS !== undefined;
  const cors = ownOrigins ? parseOrigins(raw.MERCURE_CORS_ORIGINS, "MERCURE_CORS_ORIGINS") : [...allowedOrigins];
  const publishOrigins = parseOrigins(raw.MERCURE_PUBLISH_ORIGINS, "MERCURE_PUBLISH_ORIGINS");
  if (publishOrigins.includes("*")) {
    throw new ConfigError(
      "MERCURE_PUBLISH_ORIGINS",
      'cannot contain "*": it would let any site publish with a visitor\'s cookie; list the origins',
    );
  }
  const mode = protocol === "8" ? "draft" : "legacy";
  let subscriberKey = parseJwtKey(raw, "SUBSCRIBER") ?? publisherKey;
  if (mode === "draft") {
    // draft-08 §Token Validation: every trusted key belongs to an issuer, and `iss` must be that issuer.
    if (publisherKey.issuer === undefined) {
      throw new ConfigError(
        "MERCURE_PUBLISHER_JWT_ISSUER",
        "must be set: draft-dunglas-mercure-08 binds each key to the issuer whose tokens it verifies (the iss they carry, e.g. your application's URL); MERCURE_PROTOCOL=legacy needs none",
      );
    }
    // The application that signs publishers' tokens usually signs subscribers' too.
    if (subscriberKey.issuer === undefined) subscriberKey = { ...subscriberKey, issuer: publisherKey.issuer };
  }
  return {
    mode,
    publisherKey,
    subscriberKey,
    anonymous: parseBoolean("MERCURE_ANONYMOUS", raw.MERCURE_ANONYMOUS, false),
    corsOrigins: cors,
    corsCredentials: !cors.includes("*") && (ownOrigins || allowCredentials),
    publishOrigins,
    resource: resource === "" ? null : resource,
    issuers: list(raw.MERCURE_ISSUERS),
    maxMatchers: parseInteger("MERCURE_MAX_MATCHERS", raw.MERCURE_MAX_MATCHERS, MERCURE_LIMITS.maxMatchers, 1, 1_000),
  };
}

function parseJwtKey(raw: RawConfig, role: "PUBLISHER" | "SUBSCRIBER"): JwtKeySetting | null {
  const name = `MERCURE_${role}_JWT_KEY` as const;
  const key = raw[name]?.trim() ?? "";
  if (key === "") return null;
  const algName = `MERCURE_${role}_JWT_ALG` as const;
  const alg = raw[algName]?.trim() || "HS256";
  // The key itself is checked when it is imported (src/mercure/auth.ts): WebCrypto is asynchronous.
  if (!isMercureAlgorithm(alg)) throw new ConfigError(algName, "is not a supported signature algorithm", alg);
  const issuer = raw[`MERCURE_${role}_JWT_ISSUER`]?.trim();
  return issuer ? { key, alg, issuer } : { key, alg };
}

function parseFanout(raw: RawConfig, max: number): FanoutConfig {
  const threshold = parseInteger("FANOUT_THRESHOLD", raw.FANOUT_THRESHOLD, 1_000, 1, 100_000);
  const size = parseInteger("FANOUT_SIZE", raw.FANOUT_SIZE, 1_000, 1, 100_000);
  return { threshold, size, maxObjects: Math.ceil(Math.max(0, max - threshold) / size) };
}

function parsePrefixes(value: string | undefined): string[] {
  // Unset means the documented default; an empty string turns private channels off.
  return checkChannelPrefixes("PRIVATE_CHANNEL_PREFIXES", value === undefined ? ["private-"] : list(value));
}

/** HS256 keys shorter than the hash are brute-forceable; refuse them. */
function parseSecret(name: keyof RawConfig, value: string | undefined): string | null {
  const secret = value?.trim() ?? "";
  if (secret === "") return null;
  if (secret.length < 32) throw new ConfigError(name, "must be at least 32 characters (e.g. openssl rand -base64 32)");
  return secret;
}

function parseCookieName(value: string | undefined): string {
  const name = value?.trim() || "sse_token";
  if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(name))
    throw new ConfigError("SUBSCRIBE_TOKEN_COOKIE", "is not a valid cookie name", name);
  return name;
}

/** RELAY_HOSTS entries are exact hostnames or shard patterns like `sse{n}.example.com` (n from 0 to SHARDS-1). */
function parseHosts(value: string | undefined, shards: number): string[] {
  const hosts = new Set<string>();
  for (const entry of list(value)) {
    const expanded = expandHostEntry(entry, shards);
    if ("problem" in expanded) throw new ConfigError("RELAY_HOSTS", expanded.problem);
    for (const host of expanded.hosts) hosts.add(host);
  }
  return [...hosts];
}

function parseBoolean(name: keyof RawConfig, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value.trim() === "") return fallback;
  const normalized = value.trim().toLowerCase();
  if (normalized === "true" || normalized === "1") return true;
  if (normalized === "false" || normalized === "0") return false;
  throw new ConfigError(name, 'must be "true" or "false"', value);
}

function parseInteger(
  name: keyof RawConfig,
  value: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined || value.trim() === "") return fallback;
  const trimmed = value.trim();
  const number = Number(trimmed);
  if (!/^\d+$/.test(trimmed) || !Number.isSafeInteger(number) || number < min || number > max) {
    throw new ConfigError(name, `must be a whole number from ${min} to ${max}`, value);
  }
  return number;
}
