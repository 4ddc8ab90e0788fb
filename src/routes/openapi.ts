/**
 * The HTTP API as an OpenAPI 3.1 document, served at /openapi.json.
 * test/worker/openapi.test.ts makes real requests and checks every answer
 * against the schema written here for its path and status, so a change of
 * the API that is not made here too fails the tests.
 */

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: object) => ({ "application/json": { schema } });
const error = (description: string) => ({ description, content: json(ref("Error")) });

const channelParameter = {
  name: "channel",
  in: "path",
  required: true,
  description: "1 to 128 characters from A-Z a-z 0-9 . _ : - (not only dots).",
  schema: { type: "string", pattern: "^[A-Za-z0-9._:-]{1,128}$" },
};
const idempotencyKeyParameter = {
  name: "Idempotency-Key",
  in: "header",
  required: false,
  description:
    "A retry with the same key and the same events gets the same ids (with Idempotent-Replayed: true) and is delivered once.",
  schema: { type: "string" },
};
const tokenQueryParameter = {
  name: "token",
  in: "query",
  required: false,
  schema: { type: "string" },
  description: "Subscriber JWT for private channels (ends up in access logs: prefer the cookie).",
};
const sseStream = { description: "The stream.", content: { "text/event-stream": { schema: { type: "string" } } } };
const bearer = [{ bearer: [] }];
const repeated = (name: string, description: string) => ({
  name,
  in: "query",
  required: false,
  description,
  schema: { type: "array", items: { type: "string" } },
  style: "form",
  explode: true,
});

const publishErrors = {
  "400": error("Invalid channel, event name, data, body or Idempotency-Key."),
  "401": error("Missing, malformed, wrong or expired token."),
  "403": error("The token is valid but does not grant this channel."),
  "413": error("Event, body or batch too large."),
  "415": error("Unsupported Content-Type."),
  "422": error("The Idempotency-Key was used for different events."),
  "503": error("Publishing is not configured."),
};

export const OPENAPI_DOCUMENT = {
  openapi: "3.1.0",
  info: {
    title: "edge-sse-relay",
    version: "1",
    description:
      "Server-sent events relay: backends publish events to channels; browsers subscribe with EventSource and resume with Last-Event-ID. Every error is JSON {error, message}.",
  },
  components: {
    securitySchemes: {
      bearer: {
        type: "http",
        scheme: "bearer",
        description: "A token from PUBLISH_TOKENS, or a scoped publisher JWT (HS256, PUBLISH_JWT_SECRET).",
      },
      mercure: {
        type: "http",
        scheme: "bearer",
        bearerFormat: "at+jwt",
        description:
          "Mercure hub (draft-dunglas-mercure-08): an RFC 9068 access token (typ at+jwt; iss the key's issuer, aud the hub's resource identifier, exp) whose authorization_details entries of type https://mercure.rocks/authorization-detail grant publish and subscribe on topic matchers ({match, match_type: exact | urlpattern}). Browsers may send it in the __Secure-mercure_access_token cookie instead.",
      },
    },
    schemas: {
      Error: {
        type: "object",
        required: ["error", "message"],
        additionalProperties: false,
        properties: {
          error: { type: "string", description: "Stable machine-readable code, e.g. invalid_channel." },
          message: { type: "string", description: "What to fix, for humans." },
        },
      },
      EventId: { type: "string", pattern: "^[0-9]+$", description: "Decimal, increasing per channel." },
      StreamCursor: {
        type: "string",
        pattern: "^[0-9]+:[0-9]*(\\.[0-9]*)*$",
        description:
          "The id of an event on a multi-channel stream: <k>:<c0>.<c1>…, one position per channel (empty: that channel from its live end).",
      },
      Data: { description: "A string, or any JSON value (sent to subscribers as its JSON text)." },
      PublishRequest: {
        type: "object",
        required: ["data"],
        properties: { data: ref("Data"), event: { type: "string", description: "Event name (SSE `event:`)." } },
      },
      PublishResult: {
        type: "object",
        required: ["channel", "id"],
        additionalProperties: false,
        properties: { channel: { type: "string" }, id: ref("EventId") },
      },
      BatchRequest: {
        type: "object",
        required: ["events"],
        properties: {
          events: {
            type: "array",
            items: {
              type: "object",
              required: ["channel", "data"],
              properties: { channel: { type: "string" }, data: ref("Data"), event: { type: "string" } },
            },
          },
        },
      },
      BatchResult: {
        type: "object",
        required: ["ids"],
        additionalProperties: false,
        properties: { ids: { type: "array", items: ref("EventId"), description: "In request order." } },
      },
      ChannelStats: {
        type: "object",
        required: [
          "channel",
          "mode",
          "subscribers",
          "bufferedBytes",
          "closedStreams",
          "fanouts",
          "objectStartedAt",
          "lastEventId",
          "oldestEventId",
          "eventsRetained",
          "historyLimit",
          "redis",
        ],
        additionalProperties: false,
        properties: {
          channel: { type: "string" },
          mode: {
            oneOf: [{ const: "hibernating" }, { const: "direct" }],
            description: "How this channel is delivered (DIRECT_CHANNEL_PREFIXES).",
          },
          subscribers: {
            type: "integer",
            minimum: 0,
            description: "Streams open, across the channel object and its fan-out objects.",
          },
          bufferedBytes: {
            oneOf: [{ type: "integer", minimum: 0 }, { type: "null" }],
            description:
              "Direct mode: unsent bytes queued in the channel object. Hibernating mode: null (each Worker holds its own stream's bytes, within STREAM_BUFFER_BYTES).",
          },
          fanouts: {
            type: "array",
            description:
              "Hibernating mode: the channel's fan-out objects and their subscribers (empty below FANOUT_THRESHOLD).",
            items: {
              type: "object",
              required: ["name", "subscribers"],
              additionalProperties: false,
              properties: { name: { type: "string" }, subscribers: { type: "integer", minimum: 0 } },
            },
          },
          objectStartedAt: {
            type: "string",
            description:
              "When the channel object's current instance started: it changes each time the object wakes from hibernation.",
          },
          closedStreams: {
            type: "object",
            required: ["overflow", "stalled", "expired"],
            additionalProperties: false,
            properties: {
              overflow: { type: "integer", minimum: 0 },
              stalled: { type: "integer", minimum: 0 },
              expired: { type: "integer", minimum: 0 },
            },
          },
          lastEventId: { type: ["string", "null"] },
          oldestEventId: { type: ["string", "null"] },
          eventsRetained: { type: "integer", minimum: 0 },
          historyLimit: { type: "integer", minimum: 1 },
          redis: {
            oneOf: [
              {
                type: "object",
                required: ["enabled"],
                additionalProperties: false,
                properties: { enabled: { const: false } },
              },
              {
                type: "object",
                required: ["enabled", "stream", "cursor", "polling", "consecutiveFailures", "lastPoll"],
                additionalProperties: false,
                properties: {
                  enabled: { const: true },
                  stream: { type: ["string", "null"] },
                  cursor: { type: ["string", "null"] },
                  polling: { type: "boolean" },
                  consecutiveFailures: { type: "integer", minimum: 0 },
                  lastPoll: {
                    oneOf: [
                      { type: "null" },
                      {
                        type: "object",
                        required: ["at", "ok"],
                        additionalProperties: false,
                        properties: {
                          at: { type: "string" },
                          ok: { type: "boolean" },
                          entries: { type: "integer", minimum: 0 },
                          error: { type: "string" },
                        },
                      },
                    ],
                  },
                },
              },
            ],
          },
        },
      },
      Presence: {
        type: "object",
        required: ["channel", "subscribers"],
        additionalProperties: false,
        properties: {
          channel: { type: "string" },
          subscribers: {
            type: "integer",
            minimum: 0,
            description: "Streams open on the channel, across its fan-out objects.",
          },
        },
      },
      MercureMetadata: {
        type: "object",
        required: ["resource", "authorization_details_types_supported", "bearer_methods_supported"],
        additionalProperties: false,
        description: "RFC 9728 protected resource metadata of the Mercure hub (draft-08 §Protected Resource Metadata).",
        properties: {
          resource: { type: "string", description: "The hub's resource identifier: tokens name it in aud." },
          authorization_servers: {
            type: "array",
            items: { type: "string" },
            description: "MERCURE_ISSUERS, when set.",
          },
          authorization_details_types_supported: {
            type: "array",
            items: { const: "https://mercure.rocks/authorization-detail" },
          },
          bearer_methods_supported: { type: "array", items: { const: "header" } },
          mercure_cookie: {
            const: "__Secure-mercure_access_token",
            description: "The cookie in which the hub also reads the access token.",
          },
        },
      },
      Health: {
        type: "object",
        required: ["ok"],
        additionalProperties: false,
        properties: { ok: { const: true } },
      },
    },
  },
  paths: {
    "/v1/channels/{channel}/events": {
      parameters: [channelParameter],
      get: {
        summary: "Subscribe: an SSE stream of the channel's events, held open",
        description:
          "Replays the events after Last-Event-ID (header) or ?lastEventId= (the header wins). Private channels need a subscriber JWT (Authorization: Bearer, ?token= or the cookie).",
        parameters: [
          { name: "Last-Event-ID", in: "header", required: false, schema: ref("EventId") },
          { name: "lastEventId", in: "query", required: false, schema: ref("EventId") },
          tokenQueryParameter,
        ],
        responses: {
          "200": sseStream,
          "400": error("Invalid channel name or Last-Event-ID."),
          "401": error("Private channel: missing, invalid or expired subscriber token."),
          "403": error("The subscriber token does not grant this channel."),
          "503": error("Channel full (with Retry-After), or private channels not configured."),
        },
      },
      post: {
        summary: "Publish one event",
        security: bearer,
        parameters: [
          idempotencyKeyParameter,
          { name: "event", in: "query", required: false, schema: { type: "string" }, description: "text/plain only." },
        ],
        requestBody: {
          required: true,
          content: {
            ...json(ref("PublishRequest")),
            "text/plain": { schema: { type: "string", description: "The body is the event's data." } },
          },
        },
        responses: {
          "201": { description: "Stored and delivered.", content: json(ref("PublishResult")) },
          ...publishErrors,
        },
      },
    },
    "/v1/events": {
      get: {
        summary: "Subscribe to several channels on one SSE stream (hibernating delivery)",
        description:
          "1 to MAX_CHANNELS_PER_STREAM (16) distinct channels, in the order given; direct-mode channels are refused. Each event keeps its channel's `event:` name and data; its `id:` is a cursor `<k>:<c0>.<c1>…` (k: index of the event's channel in the query, c_i: the last id of channel i delivered). Last-Event-ID (header) or ?lastEventId= (the header wins) resumes every channel after its position. relay.lost notices carry `channel` in their JSON data. Private channels need a subscriber JWT granting each.",
        parameters: [
          {
            name: "channel",
            in: "query",
            required: true,
            description: "A channel to read, repeated per channel (channel=a&channel=b).",
            schema: { type: "array", items: channelParameter.schema, minItems: 1, maxItems: 256 },
            style: "form",
            explode: true,
          },
          { name: "Last-Event-ID", in: "header", required: false, schema: ref("StreamCursor") },
          { name: "lastEventId", in: "query", required: false, schema: ref("StreamCursor") },
          tokenQueryParameter,
        ],
        responses: {
          "200": sseStream,
          "400": error(
            "No channel, too many (MAX_CHANNELS_PER_STREAM), a duplicate, an invalid or direct-mode channel, or a Last-Event-ID that is not a cursor for these channels.",
          ),
          "401": error("A private channel: missing, invalid or expired subscriber token (the message names it)."),
          "403": error("The subscriber token does not grant one of the channels (the message names it)."),
          "429": error("This client holds MAX_STREAMS_PER_CLIENT streams on one of the channels."),
          "503": error("A channel is full (with Retry-After), or private channels are not configured."),
        },
      },
      post: {
        summary: "Publish a batch of events to one or more channels",
        security: bearer,
        parameters: [idempotencyKeyParameter],
        requestBody: { required: true, content: json(ref("BatchRequest")) },
        responses: {
          "201": { description: "Stored and delivered.", content: json(ref("BatchResult")) },
          ...publishErrors,
        },
      },
    },
    "/v1/channels/{channel}": {
      parameters: [channelParameter],
      get: {
        summary: "A channel's statistics",
        security: bearer,
        responses: {
          "200": { description: "Statistics.", content: json(ref("ChannelStats")) },
          "400": error("Invalid channel name."),
          "401": error("Missing, malformed, wrong or expired token."),
          "403": error("The token does not grant this channel."),
          "503": error("Publishing (and so statistics) is not configured."),
        },
      },
    },
    "/v1/channels/{channel}/presence": {
      parameters: [channelParameter],
      get: {
        summary: "How many are watching a presence channel (PRESENCE_CHANNEL_PREFIXES)",
        description:
          "The same count subscribers get as the relay.presence event. Public channels: anyone (CORS as ALLOWED_ORIGINS). Private channels: a subscriber JWT covering the channel (Authorization: Bearer, ?token= or the cookie).",
        parameters: [tokenQueryParameter],
        responses: {
          "200": { description: "The count.", content: json(ref("Presence")) },
          "400": error("Invalid channel name."),
          "401": error("Private channel: missing, invalid or expired subscriber token."),
          "403": error("The subscriber token does not grant this channel."),
          "404": error("Presence is not enabled for this channel (presence_disabled)."),
          "503": error("Private channels not configured."),
        },
      },
    },
    "/.well-known/mercure": {
      get: {
        summary: "Mercure hub: subscribe (draft-dunglas-mercure-08 §Subscription)",
        description:
          "An SSE stream of the hub's updates whose topics one of the matchers selects and the token (or anonymous access, MERCURE_ANONYMOUS) may read. Matcher parameter names are case-sensitive; any other name beginning with match, in any case, is a 400. With MERCURE_PROTOCOL=legacy the pre-standard topic= selectors apply instead.",
        parameters: [
          repeated("match", "An exact topic (byte for byte); * selects every topic."),
          repeated("match_exact", "The explicit spelling of match."),
          repeated(
            "match_urlpattern",
            "A URL Pattern (WHATWG), relative ones against the hub's URL; * selects every topic.",
          ),
          {
            name: "last_event_id",
            in: "query",
            required: false,
            description: "Resume after this update id (or earliest); the Last-Event-ID header wins over it.",
            schema: { type: "string" },
          },
          { name: "Last-Event-ID", in: "header", required: false, schema: { type: "string" } },
        ],
        responses: {
          "200": {
            ...sseStream,
            headers: {
              "Mercure-Last-Event-ID": {
                description:
                  "When a cursor was sent: the id the stream resumes after, or earliest (also sent as Last-Event-ID).",
                schema: { type: "string" },
              },
            },
          },
          "400": error(
            "No matcher, an unknown match… parameter, a forbidden character, too many or too complex matchers.",
          ),
          "401": error(
            "A token is needed (no anonymous access), or the token is not valid (WWW-Authenticate: Bearer).",
          ),
          "404": error("The hub is off (MERCURE_PUBLISHER_JWT_KEY is not set)."),
        },
      },
      post: {
        summary: "Mercure hub: publish an update (draft-dunglas-mercure-08 §Publication)",
        security: [{ mercure: [] }],
        requestBody: {
          required: true,
          content: {
            "application/x-www-form-urlencoded": {
              schema: {
                type: "object",
                required: ["topic"],
                properties: {
                  topic: {
                    type: "array",
                    items: { type: "string" },
                    description:
                      "The canonical topic, then any alternate topics: the token must grant publish on every one.",
                  },
                  data: { type: "string" },
                  private: { type: "string", description: "Present: the update is private, whatever its value." },
                  id: { type: "string", description: "The update's id (not starting with #, not earliest)." },
                  type: { type: "string", description: "The SSE event type (not mercure)." },
                  retry: { type: "string", pattern: "^[0-9]+$" },
                },
              },
            },
          },
        },
        responses: {
          "200": { description: "The update's id.", content: { "text/plain": { schema: { type: "string" } } } },
          "400": error(
            "Malformed, whatever the token: no topic, a topic that is * or in the hub's namespace, a forbidden character, a reserved id or type, a retry that is not digits, not form-encoded.",
          ),
          "401": error("Missing or invalid token (WWW-Authenticate: Bearer)."),
          "403": error(
            "The token does not grant publish on every topic (insufficient_scope), or a cookie from another site.",
          ),
          "404": error("The hub is off (MERCURE_PUBLISHER_JWT_KEY is not set)."),
          "413": error("Too many topics, or a field or the data too large."),
        },
      },
    },
    "/.well-known/oauth-protected-resource/.well-known/mercure": {
      get: {
        summary: "The Mercure hub's protected resource metadata (RFC 9728)",
        responses: {
          "200": { description: "The metadata.", content: json(ref("MercureMetadata")) },
          "404": error("The hub is off, or speaks the pre-standard protocol (which publishes no metadata)."),
        },
      },
    },
    "/healthz": {
      get: {
        summary: "Health",
        responses: {
          "200": { description: "Healthy.", content: json(ref("Health")) },
          "500": error("The configuration is invalid; the message names the variable."),
        },
      },
    },
  },
} as const;
