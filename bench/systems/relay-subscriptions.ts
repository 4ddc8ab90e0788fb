/**
 * What a subscription's shape costs: the relay in hibernating mode (one
 * bundle, the same [vars], the Mercure hub enabled in all of them) with
 * five kinds of subscriber, each a system of its own so the harness runs
 * them side by side, interleaved, at the same N and rate:
 *
 * - `sub-single`: one channel, /v1/channels/bench/events (the baseline);
 * - `sub-multi8`: /v1/events with 8 channels, the events on one of them
 *   (8 channel feeds per stream, and every delivery's id rewritten);
 * - `mercure-exact`: the hub, one exact `match` receiving every update;
 * - `mercure-pattern8`: the hub, 8 `match_urlpattern` selectors, the
 *   updates matching the last one;
 * - `mercure-1of8`: the hub, one exact `match`, and for each event the
 *   publisher also sends 7 updates to other topics: every subscriber's
 *   stream parses 8 hub updates for each one it delivers.
 *
 * Subscribers are anonymous (MERCURE_ANONYMOUS=true); the publisher holds a
 * draft-08 token for every topic, signed here with the bench's key.
 */
import { createHmac } from "node:crypto";
import type { PublishEncoding } from "../load/publisher.ts";
import { relaySplit } from "./relay-split.ts";
import type { RelayMode } from "./relay-workerd.ts";
import { relayRoutes, relayWorkerd } from "./relay-workerd.ts";
import type { SystemDefinition } from "./types.ts";

/** The hub's resource identifier: tokens name it in `aud` (MERCURE_RESOURCE). */
const MERCURE_RESOURCE = "https://bench.example/.well-known/mercure";
/** The issuer the key is bound to: tokens carry it as `iss` (MERCURE_PUBLISHER_JWT_ISSUER). */
const MERCURE_ISSUER = "https://bench.example";
/** A bench-only HMAC key (the hub refuses keys shorter than the hash). */
const MERCURE_KEY = "bench-mercure-publisher-key-0123456789abcdef";
const HUB_PATH = "/.well-known/mercure";
const TOPIC_BASE = "https://bench.example/";
/** Channels or selectors per subscription in the multi rows; updates per delivered one in the 1-of-8 row. */
const FAN = 8;

/** Every subscription system runs with these on top of the bench's vars: the hub on, anonymous subscribers. */
const VARS: Readonly<Record<string, string>> = {
  FANOUT_THRESHOLD: "100000",
  MERCURE_PUBLISHER_JWT_KEY: MERCURE_KEY,
  MERCURE_PUBLISHER_JWT_ISSUER: MERCURE_ISSUER,
  MERCURE_ANONYMOUS: "true",
  MERCURE_RESOURCE,
};

const base64url = (text: string | Buffer) => Buffer.from(text).toString("base64url");

/** A draft-08 publisher access token for every topic (typ at+jwt, iss, aud, exp), HS256. */
function publisherToken(ttlSeconds = 24 * 3600): string {
  const head = base64url(JSON.stringify({ alg: "HS256", typ: "at+jwt" }));
  const body = base64url(
    JSON.stringify({
      iss: MERCURE_ISSUER,
      aud: MERCURE_RESOURCE,
      exp: Math.floor(Date.now() / 1000) + ttlSeconds,
      authorization_details: [
        { type: "https://mercure.rocks/authorization-detail", actions: ["publish"], topics: [{ match: "*" }] },
      ],
    }),
  );
  const signature = createHmac("sha256", MERCURE_KEY).update(`${head}.${body}`).digest();
  return `${head}.${body}.${base64url(signature)}`;
}

const topicOf = (channel: string) => `${TOPIC_BASE}${channel}`;

/** The hub's form: the event on `topic`, then `noise` updates on topics nobody selects. */
function mercureEncoding(topic: string, noise = 0): PublishEncoding {
  const form = (t: string, data: string) => new URLSearchParams({ topic: t, data }).toString();
  return {
    contentType: "application/x-www-form-urlencoded",
    bodies: (data) => [
      form(topic, data),
      ...Array.from({ length: noise }, (_, i) => form(`${TOPIC_BASE}noise-${i + 1}`, data)),
    ],
  };
}

function mercureRoutes(
  query: (channel: string) => URLSearchParams,
  topic: (channel: string) => string,
  noise = 0,
): NonNullable<RelayMode["routes"]> {
  const token = publisherToken();
  return {
    subscribePath: (channel) => `${HUB_PATH}?${query(channel).toString()}`,
    publishPath: () => HUB_PATH,
    publishHeaders: { Authorization: `Bearer ${token}` },
    publishEncoding: mercureEncoding(topic("bench"), noise),
  };
}

const ROLE = "workerd (Worker + channel or hub object)";

/** The five subscription kinds, in the write-up's order. */
export function subscriptionModeList(): RelayMode[] {
  const mode = (id: string, label: string, extra: Partial<RelayMode>): RelayMode => ({
    id,
    label,
    vars: VARS,
    channelPrefix: "",
    role: ROLE,
    ...extra,
  });
  const others = Array.from({ length: FAN - 1 }, (_, i) => i + 1);
  return [
    mode("sub-single", "One channel (/v1/channels/c/events)", {}),
    mode("sub-multi8", `${FAN} channels on one stream (/v1/events), events on one`, {
      routes: {
        ...relayRoutes(),
        subscribePath: (channel) =>
          `/v1/events?${new URLSearchParams([
            ["channel", channel],
            ...others.map((i): [string, string] => ["channel", `${channel}-m${i}`]),
          ]).toString()}`,
      },
    }),
    mode("mercure-exact", "Mercure, one exact match", {
      channelStats: false,
      routes: mercureRoutes((channel) => new URLSearchParams({ match: topicOf(channel) }), topicOf),
    }),
    mode("mercure-pattern8", `Mercure, ${FAN} match_urlpattern selectors`, {
      channelStats: false,
      routes: mercureRoutes(
        (channel) =>
          new URLSearchParams([
            ...others.map((i): [string, string] => ["match_urlpattern", `${TOPIC_BASE}other-${i}/:id`]),
            ["match_urlpattern", `${TOPIC_BASE}${channel}/:id`],
          ]),
        (channel) => `${topicOf(channel)}/1`,
      ),
    }),
    mode("mercure-1of8", `Mercure, one exact match, 1 in ${FAN} of the hub's updates`, {
      channelStats: false,
      routes: mercureRoutes((channel) => new URLSearchParams({ match: topicOf(channel) }), topicOf, FAN - 1),
    }),
  ];
}

/**
 * The subscription kinds as systems, from the one bundle the other relay systems use; each also split
 * (`<id>-split`: Worker and objects in two workerd processes, so the Worker's own share shows).
 */
export function subscriptionSystems(bundleDir: string): SystemDefinition[] {
  const modes = subscriptionModeList();
  return [...modes.map((mode) => relayWorkerd(bundleDir, mode)), ...modes.map((mode) => relaySplit(bundleDir, mode))];
}

/** Hub updates each subscriber's stream reads per delivered event, per system (1 unless stated). */
export const UPDATES_PER_DELIVERY: Readonly<Record<string, number>> = {
  "mercure-1of8": FAN,
  "mercure-1of8-split": FAN,
};
