/**
 * A Mercure hub at /.well-known/mercure (draft-dunglas-mercure-08, or the
 * pre-standard protocol with MERCURE_PROTOCOL=legacy), built on the relay's
 * own delivery.
 *
 * The draft makes the hub one ordered log: an update's id is a cursor into
 * the whole hub, a repeated id resolves to the earliest update, and URL
 * patterns select topics nobody has used yet. So every update goes through
 * one sequencing object (the channel object named HUB_CHANNEL) and reaches
 * subscribers through the hibernating bridge and its fan-out objects; each
 * subscriber's Worker stream applies its topic matchers and its token to
 * the hub's whole stream of updates (src/mercure/view.ts).
 *
 * The publisher's `id` is the id subscribers see (a `urn:uuid:` one when it
 * gives none); the sequencing object maps it back to its place in the log
 * when a subscriber resumes with it (src/channel/external-ids.ts). What a
 * resumed subscriber is told, and what the hub's own marks reveal:
 * src/mercure/cursor.ts.
 */
import { Hono } from "hono";
import type { ChannelObject } from "../objects/channel-object";
import { assertFrameSize } from "../events/event-rules";
import { INTERNAL_CHANNEL_PREFIX } from "../channel/internal-channels";
import { ConfigError, type JwtKeySetting, type MercureConfig } from "../config";
import { bridgeSettings, bridgeTarget } from "../edge/bridge-options";
import { openBridgedStream } from "../edge/bridged-stream";
import type { Env } from "../env";
import { bodyLimitFor } from "../http/body-limit";
import { clientKeyOf } from "../http/client-key";
import type { RelayContext, RelayEnv } from "../http/context";
import { corsMiddleware, createOriginMatcher } from "../http/cors";
import { errorResponse } from "../http/errors";
import { mediaTypeOf } from "../http/validation";
import { oncePer } from "../once-per";
import {
  checkCookieOrigin,
  extractToken,
  importMercureKeys,
  insufficientScope,
  type MercureAuthSettings,
  type MercureGrant,
  type MercureKeys,
  mayPublish,
  mayReceive,
  missingToken,
  resourceMetadata,
  verifyMercureToken,
} from "../mercure/auth";
import { badRequest } from "../mercure/errors";
import { MERCURE_LIMITS } from "../mercure/limits";
import { parseSubscribeQuery } from "../mercure/matchers";
import { COOKIE_NAME, HUB_PATH, requestedLastEventId } from "../mercure/protocol";
import { hubMarks, resumeFrom } from "../mercure/cursor";
import { encodeEnvelope, generateUpdateId, parsePublishForm } from "../mercure/update";
import { mercurePosition, mercureView } from "../mercure/view";
import { objectNamed } from "../protocol/stubs";

/** The hub's sequencing object: an internal channel, which /v1 can never address and Redis never feeds. */
const HUB_CHANNEL = `${INTERNAL_CHANNEL_PREFIX}mercure`;
/**
 * Where a resumed subscription started: draft-08 §Reconciliation names the response field
 * `Mercure-Last-Event-ID`; pre-standard hubs answered `Last-Event-ID`, which their clients read.
 * Both are sent, in either mode.
 */
const LAST_EVENT_ID_HEADERS = { draft: "Mercure-Last-Event-ID", legacy: "Last-Event-ID" } as const;
/** RFC 9728: the protected resource metadata of the hub, named in its 401 challenges. */
const METADATA_PATH = `/oauth-protected-resource${HUB_PATH}`;

/** The hub's routes, mounted at /.well-known: `/mercure` and its resource metadata. */
export function mercureRoutes(): Hono<RelayEnv> {
  const routes = new Hono<RelayEnv>();
  routes.use("*", async (c, next) => {
    const hub = c.var.config.mercure;
    if (hub === null) {
      return errorResponse(404, "hub_disabled", "The Mercure hub is off: set MERCURE_PUBLISHER_JWT_KEY to turn it on.");
    }
    c.set("hub", hub);
    await next();
  });
  // Public metadata: any page may read it (clients discover the resource identifier there).
  routes.get(METADATA_PATH, async (c) => {
    // Pre-standard hubs publish no metadata (draft-08 §Protected Resource Metadata: clients may take its
    // absence as a hint that the hub implements such a revision).
    if (c.var.hub.mode === "legacy")
      return errorResponse(404, "not_found", "No metadata: this hub speaks the pre-standard protocol.");
    const settings = await authSettings(c);
    const metadata = resourceMetadata(settings, COOKIE_NAME.draft);
    return c.json(metadata, 200, { "Access-Control-Allow-Origin": "*" });
  });
  const hub = HUB_PATH.slice("/.well-known".length);
  routes.use(hub, (c, next) => hubCors(c.var.hub)(c, next));
  routes.get(hub, subscribe);
  routes.post(hub, (c, next) => bodyLimitFor(c.var.config)(c, next), publish);
  routes.all(hub, (c) =>
    errorResponse(405, "method_not_allowed", `${c.req.method} is not allowed here; use GET, POST, OPTIONS.`, {
      Allow: "GET, POST, OPTIONS",
    }),
  );
  return routes;
}

async function subscribe(c: RelayContext): Promise<Response> {
  const { config, hub } = c.var;
  const settings = await authSettings(c);
  const matchers = parseSubscribeQuery(
    new URL(c.req.url),
    hub.mode,
    { maxMatchers: hub.maxMatchers, maxPatternLength: MERCURE_LIMITS.maxPatternLength },
    settings.hubUrl,
  );
  const found = extractToken(c.req.raw, hub.mode);
  let grant: MercureGrant | null = null;
  if (found !== null) grant = await verifyMercureToken(found.token, "subscribe", settings);
  else if (!hub.anonymous) throw missingToken(settings);

  const requested = requestedLastEventId(c.req.raw, hub.mode);
  const stub = hubStub(c.env);
  // Before the stream opens: its view writes marks synchronously.
  const marks = await hubMarks(c.env.CHANNELS, () => stub.secret());
  const resume =
    requested === null
      ? null
      : await resumeFrom(
          requested,
          marks,
          (id) => stub.locate(id),
          (update) => mayReceive(grant, update, hub.anonymous),
        );
  const client = await clientKeyOf(c.req.raw, grant?.subject ?? null);
  const response = await openBridgedStream(
    bridgeTarget(c.env, c.req.raw, HUB_CHANNEL, client, c.var.log),
    resume?.after,
    bridgeSettings(config, grant?.expiresAt),
    c.req.raw.signal,
    mercureView(matchers, grant, hub.anonymous, marks),
    mercurePosition(marks),
  );
  if (response === null) {
    return errorResponse(503, "hub_unavailable", "The hub's sequencing object is not ready; retry shortly.");
  }
  const answer = new Response(response.body, response);
  if (resume !== null) {
    answer.headers.set(LAST_EVENT_ID_HEADERS.draft, resume.header);
    answer.headers.set(LAST_EVENT_ID_HEADERS.legacy, resume.header);
  }
  return answer;
}

async function publish(c: RelayContext): Promise<Response> {
  const { config, hub } = c.var;
  const settings = await authSettings(c);
  // A malformed update is refused first, whatever the token (draft-08 §Publication: the reserved
  // namespace and the `*` topic are 400 "regardless of the presented access token").
  // draft-08 §Error Responses: a malformed request is a 400 (not 415).
  if (mediaTypeOf(c.req.header("Content-Type")) !== "application/x-www-form-urlencoded") {
    throw badRequest("Send the update form-encoded: Content-Type: application/x-www-form-urlencoded.");
  }
  // Bytes, not text: invalid UTF-8 is refused rather than silently replaced.
  const body = new Uint8Array(await c.req.arrayBuffer());
  const form = parsePublishForm(body, hub.mode, settings.hubUrl, { maxDataBytes: config.maxEventBytes });
  const found = extractToken(c.req.raw, hub.mode);
  if (found === null) throw missingToken(settings);
  // A browser sends the cookie along with any site's form: such a publish must come from a listed origin.
  if (found.source === "cookie") checkCookieOrigin(c.req.raw, (origin) => publishOriginMatcher(hub)(origin) !== null);
  const grant = await verifyMercureToken(found.token, "publish", settings);
  // draft-08 §Publishers: the token must grant publish on every topic, canonical and alternate alike.
  if (!mayPublish(grant, form.topics)) {
    throw insufficientScope(settings, "This token does not grant publishing to every topic of the update.");
  }
  const id = form.id ?? generateUpdateId();
  // The frame subscribers receive, as /v1 bounds it: every line of data gets its own "data: " (the
  // stored envelope below is one JSON line, so its own bound says nothing about that).
  assertFrameSize(
    form.type === undefined ? { data: form.data } : { data: form.data, event: form.type },
    config,
    "The update",
  );
  const event = assertFrameSize({ data: encodeEnvelope({ ...form, id }) }, config, "The update");
  await hubStub(c.env).publish([event], undefined, [id]);
  return c.text(id, 200);
}

/** The hub's URL as this request names it, its resource identifier, and the keys (imported once per configuration). */
async function authSettings(c: RelayContext): Promise<MercureAuthSettings> {
  const hub = c.var.hub;
  const hubUrl = new URL(HUB_PATH, new URL(c.req.url).origin);
  const { publisherKeys, subscriberKeys } = await keysFor(hub);
  return {
    mode: hub.mode,
    hubUrl,
    resourceIdentifier: hub.resource ?? hubUrl.href,
    issuers: hub.issuers,
    publisherKeys,
    subscriberKeys,
  };
}

const keysFor = oncePer(
  async (hub: MercureConfig): Promise<{ publisherKeys: MercureKeys; subscriberKeys: MercureKeys }> => ({
    publisherKeys: await importKey(hub.publisherKey, "MERCURE_PUBLISHER_JWT_KEY"),
    subscriberKeys: await importKey(hub.subscriberKey, "MERCURE_SUBSCRIBER_JWT_KEY"),
  }),
);

async function importKey(setting: JwtKeySetting, variable: "MERCURE_PUBLISHER_JWT_KEY" | "MERCURE_SUBSCRIBER_JWT_KEY") {
  try {
    return await importMercureKeys([setting]);
  } catch (error) {
    // The message names the key's algorithm and the problem, never its value.
    throw new ConfigError(variable, error instanceof Error ? error.message : "could not be imported");
  }
}

function hubStub(env: Env): DurableObjectStub<ChannelObject> {
  return objectNamed(env.CHANNELS, HUB_CHANNEL);
}

// Built once per configuration, not per request.
const publishOriginMatcher = oncePer((hub: MercureConfig) =>
  createOriginMatcher({ allowedOrigins: hub.publishOrigins, allowCredentials: true }),
);
const hubCors = oncePer((hub: MercureConfig) =>
  corsMiddleware({
    allowedOrigins: hub.corsOrigins,
    allowCredentials: hub.corsCredentials,
    // Where a resumed subscription started: clients compare it with what they asked for.
    exposeHeaders: [LAST_EVENT_ID_HEADERS.legacy, LAST_EVENT_ID_HEADERS.draft],
  }),
);
