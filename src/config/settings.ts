/**
 * THE settings table: every variable the relay reads, declared once, with
 * the feature (section) that owns it, its kind and bounds, its default and
 * a one-line doc. Parsing (parse.ts), secret redaction (errors.ts), the
 * generated docs/CONFIGURATION.md (`npm run docs:config`) and the check of
 * wrangler.toml's `[vars]` (test/unit/config/) all derive from it. Rules
 * that join several settings live with their section in parse.ts.
 *
 * Node scripts load this file directly: only `.ts` imports of leaf modules.
 */
import { MAX_SHARDS } from "../shard-hosts.ts";
import {
  BEARER_CHARACTERS,
  BEARER_TOKEN,
  boolean,
  channelPrefix,
  hmacSecret,
  integer,
  list,
  oneOf,
  optionalText,
  origin,
  type SettingKind,
  SettingProblem,
  secret,
  text,
} from "./kinds.ts";

/** The sections of the table, in the order the docs show them. */
export const SECTIONS = {
  publishing: "Publishing",
  streams: "Streams",
  channels: "Channels and fan-out",
  replay: "Replay",
  presence: "Presence",
  private: "Private channels",
  hosts: "Hosts and CORS",
  redis: "Redis ingestion",
  mercure: "Mercure hub",
  development: "Development and tests",
} as const;
type SectionId = keyof typeof SECTIONS;

export interface Setting<T> extends SettingKind<T> {
  readonly section: SectionId;
  readonly doc: string;
}

/** Signature algorithms Mercure keys can be configured with (the allowlist; never `none`). */
const MERCURE_ALGORITHMS = [
  "HS256",
  "HS384",
  "HS512",
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
] as const;
export type MercureAlgorithm = (typeof MERCURE_ALGORITHMS)[number];

/** Hosts where plain http:// cannot leak the token onto a network. */
const LOOPBACK_HOST = /^(localhost|[a-z0-9-]+\.localhost|127(\.\d{1,3}){3}|\[::1\])$/i;
const REST_URL_EXAMPLE = "must be an https URL like https://<name>.upstash.io";

/**
 * The REST URL of an Upstash database. A secret: it may hold a password (the console's
 * rediss://default:<password>@… URL is an easy slip), so no message shows it.
 */
function restUrl(value: string | undefined): string {
  const url = value?.trim() ?? "";
  if (url === "") return "";
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === "redis" || scheme === "rediss") {
    throw new SettingProblem(
      "is a redis:// or rediss:// URL (the Redis protocol, which holds the password); set the REST URL instead, https://<name>.upstash.io, and its token in UPSTASH_REDIS_REST_TOKEN",
      url,
    );
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new SettingProblem(REST_URL_EXAMPLE, url);
  }
  if ((parsed.protocol !== "https:" && parsed.protocol !== "http:") || !/^https?:\/\/[^\s/?#]+(\/\S*)?$/i.test(url)) {
    throw new SettingProblem(REST_URL_EXAMPLE, url);
  }
  if (parsed.username !== "" || parsed.password !== "") {
    throw new SettingProblem(
      "must not contain a user name or password (the REST token goes in UPSTASH_REDIS_REST_TOKEN)",
      url,
    );
  }
  if (parsed.protocol === "http:" && !LOOPBACK_HOST.test(parsed.hostname)) {
    throw new SettingProblem(
      "must use https:// (plain http:// would send the token in clear; it is accepted only for localhost, 127.x.x.x and [::1])",
      url,
    );
  }
  return url.replace(/\/+$/, "");
}

function restToken(value: string | undefined): string {
  const token = value?.trim() ?? "";
  if (token !== "" && !BEARER_TOKEN.test(token)) {
    throw new SettingProblem(`has characters a bearer token cannot carry (${BEARER_CHARACTERS})`);
  }
  return token;
}

/** `*` alone is the explicit "every channel", the empty prefix `""`. */
function redisChannelPrefixes(value: string | undefined): readonly string[] {
  const prefixes = list("").parse(value);
  if (!prefixes.includes("*")) return prefixes.map(channelPrefix);
  if (prefixes.length > 1) throw new SettingProblem("must be * alone or a list of prefixes");
  return [""];
}

const JWT_ALG = oneOf(MERCURE_ALGORITHMS, "HS256", "is not a supported signature algorithm");

export const SETTINGS = {
  // Publishing
  PUBLISH_TOKENS: {
    section: "publishing",
    ...secret("none: publishing answers 503", (value) =>
      list("", (token, index) => {
        if (!BEARER_TOKEN.test(token)) {
          throw new SettingProblem(
            `entry ${index + 1} has characters a bearer token cannot carry (${BEARER_CHARACTERS})`,
          );
        }
        return token;
      }).parse(value),
    ),
    doc: "Comma-separated bearer tokens accepted for publishing (several, to rotate without downtime). Characters: `A-Z a-z 0-9 . _ ~ + / -`, trailing `=`.",
  },
  PUBLISH_JWT_SECRET: {
    section: "publishing",
    ...secret("none: static tokens only", hmacSecret),
    doc: "HS256 key (≥ 32 characters) of scoped publisher tokens.",
  },
  MAX_EVENT_BYTES: {
    section: "publishing",
    ...integer(65_536, 1, 1_048_576),
    doc: "Largest event data, in UTF-8 bytes (413 above); the encoded frame may be at most twice this.",
  },
  MAX_BODY_BYTES: {
    section: "publishing",
    ...integer(1_048_576, 1_024, 100 * 1_048_576),
    doc: "Largest publish request body (413 above).",
  },
  MAX_BATCH_EVENTS: {
    section: "publishing",
    ...integer(500, 1, 10_000),
    doc: "Most events in one batch (413 above).",
  },
  IDEMPOTENCY_TTL_SECONDS: {
    section: "publishing",
    ...integer(86_400, 60, 30 * 86_400),
    doc: "How long a channel remembers an `Idempotency-Key`.",
  },

  // Streams
  HEARTBEAT_MS: {
    section: "streams",
    ...integer(15_000, 50, 90_000),
    doc: "Heartbeat period: ticks run twice per period (a comment to idle streams, the stalled-stream check), so a dead stream is counted out within about two.",
  },
  RETRY_MS: {
    section: "streams",
    ...integer(2_000, 0, 600_000),
    doc: "`retry:` sent at connect: how long browsers wait before reconnecting.",
  },
  MAX_STREAM_SECONDS: {
    section: "streams",
    ...integer(3_600, 1, 7 * 86_400),
    doc: "A stream ends cleanly after this long; the browser resumes with `Last-Event-ID`.",
  },
  STREAM_BUFFER_BYTES: {
    section: "streams",
    ...integer(65_536, 1_024, 16 * 1_048_576),
    doc: "Unsent bytes one subscriber's stream may hold, in either mode (an empty queue always takes one frame): past it a hibernating stream stops taking live pushes and catches up from history as it drains; a direct-mode stream already half that far behind is cut and resumes from history.",
  },
  STREAM_CPU_BUDGET_MS: {
    section: "streams",
    ...integer(5, 1, 300_000),
    doc: "Hibernating mode: modelled CPU a stream may spend before it ends cleanly and the browser resumes. 5 is safe on the Free plan (10 ms per invocation); on Paid raise it below `limits.cpu_ms`, e.g. 20000.",
  },
  MAX_CHANNELS_PER_STREAM: {
    section: "streams",
    ...integer(16, 1, 256),
    doc: "Channels one multi-channel stream (`GET /v1/events?channel=…`) may carry; 400 `too_many_channels` past it. Each counts the stream as one subscriber.",
  },
  DIRECT_CHANNEL_PREFIXES: {
    section: "streams",
    ...list("none: every channel hibernating", channelPrefix),
    doc: "Channels starting with one of these are served in direct mode (the object holds the streams; see [Delivery modes](DELIVERY.md#delivery-modes)).",
  },

  // Channels and fan-out
  HISTORY_LIMIT: {
    section: "channels",
    ...integer(1_000, 1, 1_000_000),
    doc: "Events retained per channel for replay; older ones are pruned.",
  },
  MAX_CHANNEL_NAME_LENGTH: {
    section: "channels",
    ...integer(128, 1, 256),
    doc: "Longest channel name.",
  },
  MAX_SUBSCRIBERS_PER_CHANNEL: {
    section: "channels",
    // 1,000 on the channel object plus 99 fan-out objects of 1,000 (docs/COSTS.md).
    ...integer(100_000, 1, 10_000_000),
    doc: "Open streams per channel, across its fan-out objects; past it, 503 with `Retry-After`. A fan-out object's counts reach the channel with its next push (or its last leave), so a full channel may refuse until then.",
  },
  MAX_STREAMS_PER_CLIENT: {
    section: "channels",
    ...integer(100, 1, 10_000_000),
    doc: "Streams one client may hold on one channel, wherever they are (the channel object counts those on its fan-out objects too), by token `sub` on private channels, else by address (IPv6 by /64); 429 past it. See [Security](SECURITY.md).",
  },
  FANOUT_THRESHOLD: {
    section: "channels",
    ...integer(1_000, 1, 100_000),
    doc: "Hibernating mode: subscribers the channel object holds itself; past it, new ones attach to fan-out objects.",
  },
  FANOUT_SIZE: {
    section: "channels",
    ...integer(1_000, 1, 100_000),
    doc: "Hibernating mode: subscribers per fan-out object.",
  },

  // Replay
  REPLAY_BYTES_PER_SECOND: {
    section: "replay",
    ...integer(1_048_576, 1_024, 1_073_741_824),
    doc: "History one stream may replay per second.",
  },
  REPLAY_MAX_BYTES_PER_STREAM: {
    section: "replay",
    ...integer(8_388_608, 1_024, 1_073_741_824),
    doc: "History one stream may replay in all; past it the stream ends cleanly and the browser resumes on a new connection.",
  },
  REPLAY_CONCURRENCY: {
    section: "replay",
    ...integer(16, 1, 10_000),
    doc: "Streams of one channel that may catch up from history at once; the others queue (fewest events behind first, a fair share per client); a stream a page or less behind never waits.",
  },

  // Presence
  PRESENCE_CHANNEL_PREFIXES: {
    section: "presence",
    ...list("none: presence off", channelPrefix),
    doc: "Channels starting with one of these tell their subscribers how many are watching (`relay.presence`) and answer `GET /v1/channels/{c}/presence`. See [Presence](PRESENCE.md).",
  },
  PRESENCE_INTERVAL_MS: {
    section: "presence",
    ...integer(2_000, 100, 60_000),
    doc: "At most one presence event per channel per this long; the latest count wins and the final one is always sent.",
  },

  // Private channels
  PRIVATE_CHANNEL_PREFIXES: {
    section: "private",
    ...list("`private-`", channelPrefix, ["private-"]),
    doc: "Comma-separated prefixes of private channels (empty: none), matched whatever the case.",
  },
  SUBSCRIBE_JWT_SECRET: {
    section: "private",
    ...secret("none: private channels answer 503", hmacSecret),
    doc: "HS256 key (≥ 32 characters) of subscriber tokens.",
  },
  SUBSCRIBE_TOKEN_COOKIE: {
    section: "private",
    ...text("`sse_token`", (value) => {
      const name = value?.trim() || "sse_token";
      if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(name)) throw new SettingProblem("is not a valid cookie name", name);
      return name;
    }),
    doc: "Cookie that may carry the subscriber token.",
  },

  // Hosts and CORS
  ALLOWED_ORIGINS: {
    section: "hosts",
    ...list("none: no cross-origin reads", origin),
    doc: "Comma-separated origins allowed by CORS: exact (`https://app.example.com`), `*`, or subdomain patterns (`https://*.example.com`, matching any subdomain but not the bare domain).",
  },
  ALLOW_CREDENTIALS: {
    section: "hosts",
    ...boolean(false),
    doc: "Send `Access-Control-Allow-Credentials: true` (for `new EventSource(url, {withCredentials: true})`). Needs explicit origins: with `*` in `ALLOWED_ORIGINS` it is a configuration error; the caller's origin is echoed only when listed or matching a pattern.",
  },
  RELAY_HOSTS: {
    section: "hosts",
    ...list("none: any host"),
    doc: "Hostnames served, exactly; an entry with `{n}` stands for shard hosts 0 … `SHARDS`-1 (`sse.example.com,sse{n}.example.com`); other hosts get 421. Set it in production ([Deploy](DEPLOY.md)).",
  },
  SHARDS: {
    section: "hosts",
    ...integer(0, 0, MAX_SHARDS),
    doc: "How many shard hosts a `{n}` entry of `RELAY_HOSTS` stands for. Use the same number as the client's `shards`.",
  },

  // Redis ingestion
  UPSTASH_REDIS_REST_URL: {
    section: "redis",
    ...secret("none: Redis ingestion off", restUrl),
    doc: "REST URL of the Upstash database (`https://….upstash.io`); no user or password, `http://` only for loopback hosts.",
  },
  UPSTASH_REDIS_REST_TOKEN: {
    section: "redis",
    ...secret("none", restToken),
    doc: "Its REST token. Both or neither.",
  },
  REDIS_STREAM_PREFIX: {
    section: "redis",
    ...text("`sse:`", (value) => {
      const prefix = value ?? "sse:";
      if (/[\s]/.test(prefix) || prefix.length > 64) {
        throw new SettingProblem("must be at most 64 characters without spaces");
      }
      return prefix;
    }),
    doc: "Stream key of a channel: prefix + channel name.",
  },
  REDIS_POLL_MS: {
    section: "redis",
    ...integer(1_000, 50, 60_000),
    doc: "Poll interval while a channel has subscribers.",
  },
  REDIS_BATCH_SIZE: {
    section: "redis",
    ...integer(100, 1, 1_000),
    doc: "Entries read per poll.",
  },
  REDIS_START: {
    section: "redis",
    ...oneOf(["end", "beginning"], "end", 'must be "end" or "beginning"', { lowerCase: true }),
    doc: "Where a channel's first poll starts: the stream's current end, or its beginning.",
  },
  REDIS_TIMEOUT_MS: {
    section: "redis",
    ...integer(5_000, 100, 60_000),
    doc: "A poll slower than this fails and backs off.",
  },
  REDIS_CHANNEL_PREFIXES: {
    section: "redis",
    ...list("none: required with Redis"),
    parse: redisChannelPrefixes,
    doc: "Only channels starting with one of these poll Redis (comma-separated); `*` alone: every channel. A configuration error when Redis is configured without it, so subscribers to made-up public channel names cannot run up Redis commands by default.",
  },

  // Mercure hub
  MERCURE_PUBLISHER_JWT_KEY: {
    section: "mercure",
    ...secret("none: the hub is off (404)", optionalText),
    doc: "Turns the [Mercure hub](MERCURE.md) on: the key publishers' tokens are verified with (an HMAC secret at least as long as the hash, or a public key as PEM or JWK).",
  },
  MERCURE_PUBLISHER_JWT_ALG: {
    section: "mercure",
    ...JWT_ALG,
    doc: "Its algorithm; tokens with another `alg` are refused.",
  },
  MERCURE_PUBLISHER_JWT_ISSUER: {
    section: "mercure",
    ...text("none: required by draft-08", optionalText),
    doc: "The issuer of the tokens the publisher key verifies (your application's URL, say): their `iss` must be this. Draft-08 binds every key to an issuer, so the hub's configuration is invalid without it (`/healthz` names it); `MERCURE_PROTOCOL=legacy` needs none.",
  },
  MERCURE_SUBSCRIBER_JWT_KEY: {
    section: "mercure",
    ...secret("the publisher key", optionalText),
    doc: "The key subscribers' tokens are verified with (use another one: a leaked subscriber key then cannot publish).",
  },
  MERCURE_SUBSCRIBER_JWT_ALG: {
    section: "mercure",
    ...JWT_ALG,
    doc: "Its algorithm.",
  },
  MERCURE_SUBSCRIBER_JWT_ISSUER: {
    section: "mercure",
    ...text("the publisher key's issuer", optionalText),
    doc: "The issuer of the tokens the subscriber key verifies.",
  },
  MERCURE_ANONYMOUS: {
    section: "mercure",
    ...boolean(false),
    doc: "Subscribers without a token receive public updates (otherwise 401).",
  },
  MERCURE_CORS_ORIGINS: {
    section: "mercure",
    // Unset (undefined) inherits ALLOWED_ORIGINS; set, even empty, it is the hub's own list.
    ...list("`ALLOWED_ORIGINS`"),
    parse: (value: string | undefined) => (value === undefined ? undefined : list("", origin).parse(value)),
    doc: "Origins whose pages may subscribe to the hub. Set, without `*`: they may send the token cookie (credentials); inherited from `ALLOWED_ORIGINS`: only with `ALLOW_CREDENTIALS=true`.",
  },
  MERCURE_PUBLISH_ORIGINS: {
    section: "mercure",
    ...list("none", origin),
    doc: "Origins a cookie-authorized publish may come from, besides the hub's own (403 otherwise: cross-site request forgery). `*` is refused.",
  },
  MERCURE_RESOURCE: {
    section: "mercure",
    ...text("the hub's URL as requested", (value) => {
      const resource = value?.trim() ?? "";
      if (resource === "") return null;
      if (!URL.canParse(resource)) {
        throw new SettingProblem("must be an absolute URI (the hub's resource identifier, tokens' aud)", resource);
      }
      return resource;
    }),
    doc: "The hub's resource identifier: draft-08 tokens must name it in `aud`. Set it when the hub has several host names (shards).",
  },
  MERCURE_ISSUERS: {
    section: "mercure",
    ...list("none: self-issued tokens"),
    doc: "Authorization servers the hub advertises in its metadata, comma-separated; when set, a token's `iss` must also be one of them.",
  },
  MERCURE_PROTOCOL: {
    section: "mercure",
    ...oneOf(["8", "legacy"], "8", 'must be "8" (draft-dunglas-mercure-08) or "legacy" (the pre-standard protocol)'),
    doc: "`8`: draft-dunglas-mercure-08; `legacy`: the pre-standard protocol (`topic=` and URI templates, the `mercure` claim, the `mercureAuthorization` cookie, `?authorization=`).",
  },
  MERCURE_MAX_MATCHERS: {
    section: "mercure",
    ...integer(32, 1, 1_000),
    doc: "Topic matchers one subscription may carry (400 past it).",
  },

  // Development and tests
  DEMO_ENABLED: {
    section: "development",
    ...boolean(false),
    doc: "Serve `/demo` and its token-less edit endpoint. Development only (`npm run dev` sets it).",
  },
  RELAY_TEST_HOOKS: {
    section: "development",
    ...boolean(false),
    doc: "Loopback-only hooks of the end-to-end tests (restart a channel's object). Served only for `localhost`, `*.localhost` and `127.x` hosts, so it cannot be reached in production.",
  },
} as const satisfies Record<string, Setting<unknown>>;

export type SettingName = keyof typeof SETTINGS;
/** The typed value of one setting. */
export type SettingValue<K extends SettingName> = ReturnType<(typeof SETTINGS)[K]["parse"]>;

/**
 * Old names still read, each for the setting that replaced it, when that one is not set (a
 * `deprecated setting` line is logged). MAX_BUFFERED_BYTES: direct mode's buffer before the two
 * modes shared one stream.
 */
export const DEPRECATED_NAMES = { MAX_BUFFERED_BYTES: "STREAM_BUFFER_BYTES" } as const satisfies Record<
  string,
  SettingName
>;
export type DeprecatedName = keyof typeof DEPRECATED_NAMES;

/** The raw strings the platform hands the relay (all optional: absent means default). */
export type RawConfig = { [K in SettingName | DeprecatedName]?: string };

/** Whether a name is one the relay reads (a setting or a deprecated alias). */
export function isKnownSetting(name: string): name is SettingName | DeprecatedName {
  return Object.hasOwn(SETTINGS, name) || Object.hasOwn(DEPRECATED_NAMES, name);
}
