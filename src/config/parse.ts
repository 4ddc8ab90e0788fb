/**
 * The typed configuration, assembled section by section from the settings
 * table (settings.ts). Each setting is read once, lazily, through `read`, so
 * a feature that is off (no Redis, no Mercure key) never rejects its unused
 * settings. Rules that join several settings are the small named functions
 * beside their section.
 */
import { expandHostEntry } from "../shard-hosts.ts";
import { SettingProblem } from "./kinds.ts";
import { ConfigError, redactSecrets } from "./errors.ts";
import {
  DEPRECATED_NAMES,
  type DeprecatedName,
  type MercureAlgorithm,
  type RawConfig,
  SETTINGS,
  type SettingName,
  type SettingValue,
} from "./settings.ts";

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

/** Bounds on history replay, per stream and per channel (src/channel/replay-limits.ts). */
export interface ReplaySettings {
  /** Replay bytes one stream may receive per second. */
  readonly bytesPerSecond: number;
  /** Replay bytes one stream may receive in all, before it ends cleanly. */
  readonly maxBytesPerStream: number;
  /** Streams of one channel that may be catching up at the same time. */
  readonly concurrency: number;
}

/** Subscriber counts shown to subscribers of some channels (src/channel/presence.ts). */
export interface PresenceSettings {
  /** Channels starting with one of these have presence; empty: presence is off. */
  readonly channelPrefixes: readonly string[];
  /** At most one presence event per channel per this long (the latest count wins). */
  readonly intervalMs: number;
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
 * The Mercure protocol a hub speaks: `draft`, draft-dunglas-mercure-08 (MERCURE_PROTOCOL "8");
 * `legacy`, the pre-standard protocol (src/mercure/protocol.ts says what differs).
 */
export type MercureMode = "draft" | "legacy";

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

/** The relay's settings, typed. Each field's meaning is its setting's doc in settings.ts. */
export interface RelayConfig {
  /** Empty: publishing is refused (503), never open. */
  readonly publishTokens: readonly string[];
  readonly allowedOrigins: readonly string[];
  readonly allowCredentials: boolean;
  readonly heartbeatMs: number;
  readonly retryMs: number;
  readonly historyLimit: number;
  readonly maxEventBytes: number;
  readonly maxBodyBytes: number;
  readonly maxBatchEvents: number;
  readonly redis: RedisConfig | null;
  readonly demoEnabled: boolean;
  readonly privateChannelPrefixes: readonly string[];
  /** null: private channels answer 503. */
  readonly subscribeJwtSecret: string | null;
  readonly subscribeTokenCookie: string;
  /** null: only PUBLISH_TOKENS publish. */
  readonly publishJwtSecret: string | null;
  readonly maxSubscribersPerChannel: number;
  readonly maxStreamsPerClient: number;
  readonly maxChannelsPerStream: number;
  readonly maxStreamSeconds: number;
  readonly maxChannelNameLength: number;
  /** Hostnames served, exactly (shard patterns expanded); empty: any host. */
  readonly relayHosts: readonly string[];
  readonly idempotencyTtlSeconds: number;
  readonly directChannelPrefixes: readonly string[];
  readonly fanout: FanoutConfig;
  /** One stream's byte budget in either mode (src/stream/outlet.ts). */
  readonly streamBufferBytes: number;
  /** Settings read under a deprecated name: [old name, the name to use], for a log line. */
  readonly deprecated: readonly (readonly [string, string])[];
  readonly streamCpuBudgetMs: number;
  /** Loopback-only hooks for end-to-end fault tests (src/test-hooks). */
  readonly testHooks: boolean;
  readonly replay: ReplaySettings;
  readonly presence: PresenceSettings;
  /** The Mercure hub at /.well-known/mercure; null (404) until MERCURE_PUBLISHER_JWT_KEY is set. */
  readonly mercure: MercureConfig | null;
}

/** Reads one setting from the table; `deprecated` collects the old names it read instead. */
type Read = <K extends SettingName>(name: K) => SettingValue<K>;

export function parseConfig(raw: RawConfig): RelayConfig {
  try {
    return assemble(raw);
  } catch (error) {
    if (error instanceof ConfigError) {
      const message = redactSecrets(error.message, raw);
      if (message !== error.message) throw Object.assign(error, { message });
    }
    throw error;
  }
}

function reader(raw: RawConfig, deprecated: [DeprecatedName, SettingName][]): Read {
  return <K extends SettingName>(name: K): SettingValue<K> => {
    let source: SettingName | DeprecatedName = name;
    if (raw[name] === undefined) {
      const alias = (Object.keys(DEPRECATED_NAMES) as DeprecatedName[]).find(
        (old) => DEPRECATED_NAMES[old] === name && raw[old] !== undefined,
      );
      if (alias !== undefined) {
        source = alias;
        deprecated.push([alias, name]);
      }
    }
    try {
      return SETTINGS[name].parse(raw[source]) as SettingValue<K>;
    } catch (error) {
      if (error instanceof SettingProblem) throw new ConfigError(source, error.message, error.got);
      throw error;
    }
  };
}

function assemble(raw: RawConfig): RelayConfig {
  const deprecated: [DeprecatedName, SettingName][] = [];
  const read = reader(raw, deprecated);
  const maxSubscribersPerChannel = read("MAX_SUBSCRIBERS_PER_CHANNEL");
  const allowedOrigins = read("ALLOWED_ORIGINS");
  const allowCredentials = read("ALLOW_CREDENTIALS");
  const config: RelayConfig = {
    publishTokens: read("PUBLISH_TOKENS"),
    allowedOrigins,
    allowCredentials,
    heartbeatMs: read("HEARTBEAT_MS"),
    retryMs: read("RETRY_MS"),
    historyLimit: read("HISTORY_LIMIT"),
    maxEventBytes: read("MAX_EVENT_BYTES"),
    maxBodyBytes: read("MAX_BODY_BYTES"),
    maxBatchEvents: read("MAX_BATCH_EVENTS"),
    redis: redisSection(read),
    demoEnabled: read("DEMO_ENABLED"),
    privateChannelPrefixes: read("PRIVATE_CHANNEL_PREFIXES"),
    subscribeJwtSecret: read("SUBSCRIBE_JWT_SECRET"),
    subscribeTokenCookie: read("SUBSCRIBE_TOKEN_COOKIE"),
    publishJwtSecret: read("PUBLISH_JWT_SECRET"),
    maxSubscribersPerChannel,
    maxStreamsPerClient: read("MAX_STREAMS_PER_CLIENT"),
    maxChannelsPerStream: read("MAX_CHANNELS_PER_STREAM"),
    maxStreamSeconds: read("MAX_STREAM_SECONDS"),
    maxChannelNameLength: read("MAX_CHANNEL_NAME_LENGTH"),
    relayHosts: relayHosts(read("RELAY_HOSTS"), read("SHARDS")),
    idempotencyTtlSeconds: read("IDEMPOTENCY_TTL_SECONDS"),
    directChannelPrefixes: read("DIRECT_CHANNEL_PREFIXES"),
    fanout: fanoutSection(read, maxSubscribersPerChannel),
    streamBufferBytes: read("STREAM_BUFFER_BYTES"),
    deprecated,
    streamCpuBudgetMs: read("STREAM_CPU_BUDGET_MS"),
    testHooks: read("RELAY_TEST_HOOKS"),
    replay: {
      bytesPerSecond: read("REPLAY_BYTES_PER_SECOND"),
      maxBytesPerStream: read("REPLAY_MAX_BYTES_PER_STREAM"),
      concurrency: read("REPLAY_CONCURRENCY"),
    },
    presence: {
      channelPrefixes: read("PRESENCE_CHANNEL_PREFIXES"),
      intervalMs: read("PRESENCE_INTERVAL_MS"),
    },
    mercure: mercureSection(read, allowedOrigins, allowCredentials),
  };
  credentialsNeedListedOrigins(config);
  return config;
}

// Hosts and CORS

/** Credentials with every origin allowed would let any website read a visitor's private channels. */
function credentialsNeedListedOrigins(config: Pick<RelayConfig, "allowCredentials" | "allowedOrigins">): void {
  if (config.allowCredentials && config.allowedOrigins.includes("*")) {
    throw new ConfigError(
      "ALLOW_CREDENTIALS",
      'cannot be true while ALLOWED_ORIGINS contains "*": list the origins that may send cookies',
    );
  }
}

/** RELAY_HOSTS entries are exact hostnames or shard patterns like `sse{n}.example.com` (n from 0 to SHARDS-1). */
function relayHosts(entries: readonly string[], shards: number): string[] {
  const hosts = new Set<string>();
  for (const entry of entries) {
    const expanded = expandHostEntry(entry, shards);
    if ("problem" in expanded) throw new ConfigError("RELAY_HOSTS", expanded.problem);
    for (const host of expanded.hosts) hosts.add(host);
  }
  return [...hosts];
}

// Channels and fan-out

function fanoutSection(read: Read, maxSubscribers: number): FanoutConfig {
  const threshold = read("FANOUT_THRESHOLD");
  const size = read("FANOUT_SIZE");
  return { threshold, size, maxObjects: Math.ceil(Math.max(0, maxSubscribers - threshold) / size) };
}

// Redis ingestion

/** Off unless both the URL and the token are set; with them, REDIS_CHANNEL_PREFIXES is required. */
function redisSection(read: Read): RedisConfig | null {
  const url = read("UPSTASH_REDIS_REST_URL");
  const token = read("UPSTASH_REDIS_REST_TOKEN");
  if (url === "" && token === "") return null;
  if (url === "") throw new ConfigError("UPSTASH_REDIS_REST_URL", "is required when UPSTASH_REDIS_REST_TOKEN is set");
  if (token === "") throw new ConfigError("UPSTASH_REDIS_REST_TOKEN", "is required when UPSTASH_REDIS_REST_URL is set");
  return {
    url,
    token,
    streamPrefix: read("REDIS_STREAM_PREFIX"),
    pollMs: read("REDIS_POLL_MS"),
    batchSize: read("REDIS_BATCH_SIZE"),
    startFrom: read("REDIS_START"),
    timeoutMs: read("REDIS_TIMEOUT_MS"),
    channelPrefixes: redisPrefixesRequired(read("REDIS_CHANNEL_PREFIXES")),
  };
}

/** Otherwise every anonymous stream on a random name would poll Redis and store a cursor. */
function redisPrefixesRequired(prefixes: readonly string[]): readonly string[] {
  if (prefixes.length === 0) {
    throw new ConfigError(
      "REDIS_CHANNEL_PREFIXES",
      "is required when Redis ingestion is configured: list the channel prefixes your backends XADD to (e.g. orders-,page-), or * for every channel",
    );
  }
  return prefixes;
}

// Mercure hub

/** Off (null) until MERCURE_PUBLISHER_JWT_KEY is set. */
function mercureSection(
  read: Read,
  allowedOrigins: readonly string[],
  allowCredentials: boolean,
): MercureConfig | null {
  const publisherKey = jwtKey(read, "PUBLISHER");
  if (publisherKey === null) return null;
  const mode: MercureMode = read("MERCURE_PROTOCOL") === "8" ? "draft" : "legacy";
  const resource = read("MERCURE_RESOURCE");
  const ownOrigins = read("MERCURE_CORS_ORIGINS");
  const corsOrigins = ownOrigins ?? allowedOrigins;
  const publishOrigins = publishOriginsListed(read("MERCURE_PUBLISH_ORIGINS"));
  const subscriberKey = jwtKey(read, "SUBSCRIBER") ?? publisherKey;
  return {
    mode,
    ...(mode === "draft" ? keysBoundToIssuers(publisherKey, subscriberKey) : { publisherKey, subscriberKey }),
    anonymous: read("MERCURE_ANONYMOUS"),
    corsOrigins: [...corsOrigins],
    corsCredentials: !corsOrigins.includes("*") && (ownOrigins !== undefined || allowCredentials),
    publishOrigins,
    resource,
    issuers: read("MERCURE_ISSUERS"),
    maxMatchers: read("MERCURE_MAX_MATCHERS"),
  };
}

/** `*` would let any site publish with a visitor's cookie. */
function publishOriginsListed(origins: readonly string[]): readonly string[] {
  if (origins.includes("*")) {
    throw new ConfigError(
      "MERCURE_PUBLISH_ORIGINS",
      'cannot contain "*": it would let any site publish with a visitor\'s cookie; list the origins',
    );
  }
  return origins;
}

/**
 * draft-08 §Token Validation: every trusted key belongs to an issuer, and `iss` must be that issuer.
 * The application that signs publishers' tokens usually signs subscribers' too, so the subscriber
 * key inherits the publisher key's issuer.
 */
function keysBoundToIssuers(
  publisherKey: JwtKeySetting,
  subscriberKey: JwtKeySetting,
): { publisherKey: JwtKeySetting; subscriberKey: JwtKeySetting } {
  if (publisherKey.issuer === undefined) {
    throw new ConfigError(
      "MERCURE_PUBLISHER_JWT_ISSUER",
      "must be set: draft-dunglas-mercure-08 binds each key to the issuer whose tokens it verifies (the iss they carry, e.g. your application's URL); MERCURE_PROTOCOL=legacy needs none",
    );
  }
  return {
    publisherKey,
    subscriberKey:
      subscriberKey.issuer === undefined ? { ...subscriberKey, issuer: publisherKey.issuer } : subscriberKey,
  };
}

/** One role's key, algorithm and issuer; null when the key is not set. */
function jwtKey(read: Read, role: "PUBLISHER" | "SUBSCRIBER"): JwtKeySetting | null {
  const key = read(`MERCURE_${role}_JWT_KEY`);
  if (key === undefined) return null;
  // The key itself is checked when it is imported (src/mercure/auth.ts): WebCrypto is asynchronous.
  const alg = read(`MERCURE_${role}_JWT_ALG`);
  const issuer = read(`MERCURE_${role}_JWT_ISSUER`);
  return issuer ? { key, alg, issuer } : { key, alg };
}
