/**
 * HTTP routing: validates requests, checks auth and CORS, and hands each
 * channel's work to its Durable Object. No channel state lives here, so any
 * Worker instance on any hostname (s1.sse.example.com, s2…) serves any
 * channel identically.
 */
import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ChannelObject, PublishOutcome } from "../objects/channel-object";
import { AFTER_HEADER, CLIENT_HEADER, EXPIRES_HEADER } from "../protocol/headers";
import { clientKeyOf } from "../http/client-key";
import { bridgeSettings, bridgeTarget } from "../edge/bridge-options";
import { openBridgedStream } from "../edge/bridged-stream";
import { ConfigError, configFromEnv, type RelayConfig } from "../config";
import type { RelayContext, RelayEnv } from "../http/context";
import { demoRoutes } from "./demo";
import { testHookRoutes } from "./test-hooks";
import { oncePer } from "../once-per";
import { assertMayPublish, publisherAuth } from "../http/auth";
import { bodyLimitFor } from "../http/body-limit";
import { corsMiddleware } from "../http/cors";
import { ApiError, errorResponse } from "../http/errors";
import { favicon, home } from "./home";
import { hostGuard } from "../http/hosts";
import { OPENAPI_DOCUMENT } from "./openapi";
import { IDEMPOTENCY_HEADER, idempotencyFor, parseIdempotencyKey } from "../http/idempotency";
import { requestLog } from "../http/request-log";
import { noSniff } from "../http/security-headers";
import type { IdempotencyRequest } from "../events/events";
import { authorizeSubscriber } from "../http/subscriber-auth";
import { presenceEnabled } from "../channel/presence";
import { type Logger, log } from "../log";
import { MercureRefused } from "../mercure/errors";
import { mercureRoutes } from "./mercure-hub";
import { EventRefused } from "../events/event-rules";
import type { EventInput } from "../events/events";
import { type ChannelEventInput, readBatch, readEventInput } from "../http/publish-body";
import { parseChannelList, parseChannelName, parseLastEventId, parseMultiLastEventId } from "../http/validation";
import { openMultiStream } from "../edge/multi-stream";
import { objectNamed } from "../protocol/stubs";

const CHANNEL_EVENTS = "/v1/channels/:channel/events";
const CHANNEL = "/v1/channels/:channel";
const BATCH = "/v1/events";
const CHANNEL_PRESENCE = "/v1/channels/:channel/presence";

export function createApp(): Hono<RelayEnv> {
  const app = new Hono<RelayEnv>();

  app.onError((error, c) => {
    if (error instanceof ApiError) return error.toResponse();
    if (error instanceof EventRefused) return errorResponse(error.status, error.code, error.message);
    if (error instanceof MercureRefused) {
      // Every token refusal answers the same sentence; the operator's log says which check failed.
      if (error.reason !== undefined) {
        (c.var.log ?? log).info("mercure token refused", { status: error.status, reason: error.reason });
      }
      return error.toResponse();
    }
    if (error instanceof HTTPException) return error.getResponse();
    const requestLogger = (c.var.log ?? log).with({ channel: channelOf(c), method: c.req.method, path: c.req.path });
    if (error instanceof ConfigError) {
      requestLogger.error("invalid configuration", { variable: error.variable, error: error.message });
      return errorResponse(500, "config_invalid", `Relay misconfigured: ${error.message}.`);
    }
    // Never leak a stack trace or internals to the caller; the log has them.
    requestLogger.error("unhandled error", { error: error instanceof Error ? error : String(error) });
    return errorResponse(500, "internal_error", "The relay hit an unexpected error; the request may be retried.");
  });

  app.notFound(() => errorResponse(404, "not_found", "No such endpoint. See README.md for the API."));

  // First, so every log line of the request carries its id.
  app.use("*", requestLog());
  app.use("*", noSniff());

  // Configuration is validated once per env and shared by every route below (c.var.config); a bad one
  // answers 500 with the variable named, on every route.
  app.use("*", async (c, next) => {
    const config = configFromEnv(c.env);
    warnDeprecated(config, c.var.log);
    c.set("config", config);
    await next();
  });
  // Hosts other than the deployment's (and its shard subdomains) are refused before anything runs.
  app.use(
    "*",
    hostGuard((c) => c.var.config.relayHosts),
  );

  app.get("/", home);
  app.get("/favicon.ico", favicon);
  // The API description: any origin may read it (API explorers run in the browser).
  app.get("/openapi.json", (c) => c.json(OPENAPI_DOCUMENT, 200, { "Access-Control-Allow-Origin": "*" }));

  // Reached only with a valid configuration: a bad one makes the relay unhealthy (500 with the variable named).
  app.get("/healthz", (c) => c.json({ ok: true }));

  // The browser client and its types: any origin may import them (module scripts are fetched with CORS).
  app.get("/client.js", (c) => clientFile(c, "/client.js", "text/javascript; charset=utf-8"));
  app.get("/client.d.ts", (c) => clientFile(c, "/client.d.ts", "application/typescript; charset=utf-8"));

  app.route("/demo", demoRoutes());
  app.route("/__test", testHookRoutes());
  app.route("/.well-known", mercureRoutes());

  app.use("/v1/*", (c, next) => corsFor(c.var.config)(c, next));

  app.get(CHANNEL_EVENTS, subscribe);
  app.post(CHANNEL_EVENTS, requirePublisher, limitBody, publishOne);
  app.get(CHANNEL, requirePublisher, channelStats);
  app.post(BATCH, requirePublisher, limitBody, publishBatch);
  app.get(CHANNEL_PRESENCE, readPresence);
  app.get(BATCH, subscribeMany);

  for (const [path, allow] of [
    [CHANNEL_EVENTS, "GET, POST, OPTIONS"],
    [CHANNEL, "GET, OPTIONS"],
    [BATCH, "GET, POST, OPTIONS"],
    [CHANNEL_PRESENCE, "GET, OPTIONS"],
    ["/healthz", "GET"],
  ] as const) {
    app.all(path, (c) =>
      errorResponse(405, "method_not_allowed", `${c.req.method} is not allowed here; use ${allow}.`, { Allow: allow }),
    );
  }

  return app;
}

/** One log line per configuration that still uses a deprecated setting name. */
const warned = new WeakSet<RelayConfig>();
function warnDeprecated(config: RelayConfig, logger: Logger): void {
  if (warned.has(config)) return;
  warned.add(config);
  for (const [old, use] of config.deprecated) logger.warn("deprecated setting", { setting: old, use });
}

async function subscribe(c: RelayContext): Promise<Response> {
  const config = c.var.config;
  const channel = parseChannelName(c.req.param("channel"), config);
  // The header wins: on reconnect EventSource sends it while the URL still holds the first query value.
  // Authorized first: nothing about a private channel is answered to a client without a token.
  const grant = await authorizeSubscriber(c, channel, config);
  const header = c.req.header("Last-Event-ID");
  const after = parseLastEventId(header ? header : c.req.query("lastEventId"));
  const tokenExpiresAt = grant?.expiresAt;
  const client = await clientKeyOf(c.req.raw, grant?.subject ?? null);
  if (deliveryMode(channel, config) === "hibernating") {
    const bridged = await openBridgedStream(
      bridgeTarget(c.env, c.req.raw, channel, client, c.var.log),
      after,
      bridgeSettings(config, tokenExpiresAt),
      c.req.raw.signal,
    );
    // null: an object from before the bridge (a rolling deploy): it still serves direct streams.
    if (bridged !== null) return new Response(bridged.body, bridged);
  }
  const headers = new Headers();
  if (after !== undefined) headers.set(AFTER_HEADER, String(after));
  if (tokenExpiresAt !== undefined) headers.set(EXPIRES_HEADER, String(tokenExpiresAt));
  if (client !== null) headers.set(CLIENT_HEADER, client);
  const response = await channelStub(c.env, channel).fetch("https://channel/subscribe", {
    headers,
    signal: c.req.raw.signal,
  });
  // Re-wrap so middleware (CORS) can add headers to what the object returned.
  return new Response(response.body, response);
}

/** How many streams are open on a presence channel: anyone for a public channel, token holders for a private one. */
async function readPresence(c: RelayContext): Promise<Response> {
  const config = c.var.config;
  const channel = parseChannelName(c.req.param("channel"), config);
  if (!presenceEnabled(channel, config.presence)) {
    throw new ApiError(
      404,
      "presence_disabled",
      `Presence is not enabled for channel "${channel}" (PRESENCE_CHANNEL_PREFIXES).`,
    );
  }
  await authorizeSubscriber(c, channel, config);
  const subscribers = await channelStub(c.env, channel).presenceCount();
  return c.json({ channel, subscribers }, 200, { "Cache-Control": "no-store" });
}

/**
 * GET /v1/events?channel=a&channel=b…: several channels on one stream (hibernating mode only; see
 * src/edge/multi-stream.ts for the wire format). The request is validated whole before anything attaches.
 */
async function subscribeMany(c: RelayContext): Promise<Response> {
  const config = c.var.config;
  const channels = parseChannelList(c.req.queries("channel") ?? [], config, (channel) => deliveryMode(channel, config));
  let expiresAt = Number.POSITIVE_INFINITY;
  let subject: string | null = null;
  for (const channel of channels) {
    const grant = await authorizeSubscriber(c, channel, config);
    if (grant === undefined) continue;
    expiresAt = Math.min(expiresAt, grant.expiresAt);
    subject ??= grant.subject;
  }
  // Authorized first: nothing about a private channel is answered to a client without a token.
  // The header wins: on reconnect EventSource sends it while the URL still holds the first query value.
  const header = c.req.header("Last-Event-ID");
  const after = parseMultiLastEventId(header ? header : c.req.query("lastEventId"), channels.length);
  const client = await clientKeyOf(c.req.raw, subject);
  const opened = await openMultiStream(
    channels.map((channel) => bridgeTarget(c.env, c.req.raw, channel, client, c.var.log)),
    after,
    bridgeSettings(config, Number.isFinite(expiresAt) ? expiresAt : undefined),
    c.req.raw.signal,
  );
  if (opened === null) {
    // An object from before the bridge (a rolling deploy): it cannot feed a multi-channel stream yet.
    throw new ApiError(503, "channel_unavailable", "A channel of this stream is being upgraded; retry shortly.", {
      "Retry-After": "5",
    });
  }
  // Re-wrap so middleware (CORS) can add headers.
  return new Response(opened.body, opened);
}

function deliveryMode(channel: string, config: RelayConfig): "hibernating" | "direct" {
  return config.directChannelPrefixes.some((prefix) => channel.startsWith(prefix)) ? "direct" : "hibernating";
}

async function publishOne(c: RelayContext): Promise<Response> {
  const channel = parseChannelName(c.req.param("channel"), c.var.config);
  assertMayPublish(c.var.publisher, [channel]);
  const key = parseIdempotencyKey(c.req.header(IDEMPOTENCY_HEADER));
  const input = await readEventInput(c.req, c.var.config);
  const outcome = await channelStub(c.env, channel).publish([input], await idempotencyFor(key, [[channel, [input]]]));
  const ids = publishedIds(outcome);
  return c.json({ channel, id: ids[0]! }, 201, replayHeader(outcome));
}

async function publishBatch(c: RelayContext): Promise<Response> {
  const key = parseIdempotencyKey(c.req.header(IDEMPOTENCY_HEADER));
  const events = await readBatch(c.req, c.var.config);
  // One call per channel keeps each channel's order; channels proceed in parallel.
  const byChannel = new Map<string, { inputs: EventInput[]; positions: number[] }>();
  events.forEach((event: ChannelEventInput, position) => {
    let group = byChannel.get(event.channel);
    if (!group) {
      group = { inputs: [], positions: [] };
      byChannel.set(event.channel, group);
    }
    group.inputs.push(event.event === undefined ? { data: event.data } : { data: event.data, event: event.event });
    group.positions.push(position);
  });
  assertMayPublish(c.var.publisher, byChannel.keys());
  const groups = [...byChannel];
  const idempotency = await idempotencyFor(
    key,
    groups.map(([channel, group]) => [channel, group.inputs] as const),
  );
  // Over several channels there is no transaction: the key is reserved on each first, so a
  // reused key is refused before anything is stored anywhere.
  if (idempotency && groups.length > 1) await reserveEverywhere(c.env, [...byChannel.keys()], idempotency);
  const outcomes = await Promise.all(
    groups.map(([channel, group]) => channelStub(c.env, channel).publish(group.inputs, idempotency)),
  );
  if (outcomes.some((outcome) => outcome.status === "key-conflict")) {
    // Only if a reservation outlived IDEMPOTENCY_TTL_SECONDS mid-request. A request that stored
    // something is never answered with a refusal: 500 says "retry with the same key".
    if (outcomes.some((outcome) => outcome.status === "published")) {
      throw new Error("Idempotency-Key reservation expired during a batch; some channels stored their events");
    }
    publishedIds({ status: "key-conflict" });
  }
  const ids = new Array<string>(events.length);
  groups.forEach(([, group], index) => {
    for (const [position, id] of publishedIds(outcomes[index]!).entries()) ids[group.positions[position]!] = id;
  });
  const replayed = outcomes.some((outcome) => outcome.status === "replayed");
  return c.json({ ids }, 201, replayed ? { "Idempotent-Replayed": "true" } : {});
}

/** Reserves the key on every channel; if any has it for another request, undoes the rest and refuses (422). */
async function reserveEverywhere(env: Env, channels: readonly string[], idempotency: IdempotencyRequest) {
  const reservations = await Promise.all(
    channels.map((channel) => channelStub(env, channel).reserveIdempotencyKey(idempotency)),
  );
  if (!reservations.includes("conflict")) return;
  await Promise.all(
    channels
      .filter((_, index) => reservations[index] === "reserved")
      .map((channel) => channelStub(env, channel).releaseIdempotencyKey(idempotency)),
  );
  publishedIds({ status: "key-conflict" });
}

function publishedIds(outcome: PublishOutcome): readonly string[] {
  if (outcome.status === "key-conflict") {
    throw new ApiError(
      422,
      "idempotency_key_reused",
      "This Idempotency-Key was already used for a different request; use a new key for new events.",
    );
  }
  return outcome.ids;
}

function replayHeader(outcome: PublishOutcome): Record<string, string> {
  return outcome.status === "replayed" ? { "Idempotent-Replayed": "true" } : {};
}

async function channelStats(c: RelayContext): Promise<Response> {
  const channel = parseChannelName(c.req.param("channel"), c.var.config);
  assertMayPublish(c.var.publisher, [channel]);
  const stats = await channelStub(c.env, channel).stats(deliveryMode(channel, c.var.config));
  return c.json({ channel, ...stats });
}

async function clientFile(c: RelayContext, path: string, contentType: string): Promise<Response> {
  const asset = await c.env.ASSETS.fetch(new URL(path, c.req.url));
  const response = new Response(asset.body, asset);
  response.headers.set("Content-Type", contentType);
  response.headers.set("Access-Control-Allow-Origin", "*");
  response.headers.set("Cache-Control", "public, max-age=300");
  // Deno and some bundlers read the module's types from here.
  if (path === "/client.js") response.headers.set("X-TypeScript-Types", "/client.d.ts");
  return response;
}

/** The channel a request is about, for log lines (undefined on routes without one). */
function channelOf(c: RelayContext): string | undefined {
  try {
    return c.req.param("channel") || undefined;
  } catch {
    return undefined;
  }
}

function channelStub(env: Env, channel: string): DurableObjectStub<ChannelObject> {
  return objectNamed(env.CHANNELS, channel);
}

function requirePublisher(c: RelayContext, next: () => Promise<void>) {
  return authFor(c.var.config)(c, next);
}

function limitBody(c: RelayContext, next: () => Promise<void>) {
  return bodyLimitFor(c.var.config)(c, next);
}

// Middleware built once per configuration, not per request.
const corsFor = oncePer((config: RelayConfig) => corsMiddleware(config));
const authFor = oncePer((config: RelayConfig) => publisherAuth(config));
