/**
 * A corpus of malicious and malformed requests: each is refused with the
 * right status and a JSON error, none changes any channel's state, and no
 * answer leaks a stack trace or a secret.
 */
import { SELF } from "cloudflare:test";
import { sign } from "hono/jwt";
import { describe, expect, it } from "vitest";
import { BASE, TOKEN, stats } from "./relay-client";

const CANARY = "canary";
const SECRETS = ["test-token", "rotated-token", "test-subscribe-secret", "test-publish-secret"];
const inSeconds = (seconds: number) => Math.floor(Date.now() / 1000) + seconds;
const b64url = (object: object) =>
  btoa(JSON.stringify(object)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");

interface Attack {
  readonly name: string;
  readonly request: () => Promise<Request>;
  /** Acceptable statuses (the platform may answer some before the Worker runs). */
  readonly status: readonly number[];
}

const post = (path: string, init: { headers?: Record<string, string>; body?: string } = {}) =>
  new Request(`${BASE}${path}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json", ...init.headers },
    body: init.body ?? JSON.stringify({ data: "attack" }),
  });
const publishTo = (path: string, init?: { headers?: Record<string, string>; body?: string }) => async () =>
  post(path, init);
const canary = `/v1/channels/${CANARY}/events`;
const withToken = (token: string) => publishTo(canary, { headers: { Authorization: `Bearer ${token}` } });

const attacks: Attack[] = [
  // Injection in every field.
  {
    name: "event name with CRLF frame injection",
    request: publishTo(canary, { body: JSON.stringify({ data: "x", event: "a\r\nid: 9\r\n\r\ndata: forged" }) }),
    status: [400],
  },
  {
    name: "event name spoofing the relay's signal",
    request: publishTo(canary, { body: JSON.stringify({ data: "x", event: "relay.lost" }) }),
    status: [400],
  },
  {
    name: "event name as an object",
    request: publishTo(canary, { body: JSON.stringify({ data: "x", event: { toString: "x" } }) }),
    status: [400],
  },
  { name: "channel with encoded newline", request: publishTo("/v1/channels/a%0Ab/events"), status: [400] },
  { name: "channel with encoded slash", request: publishTo("/v1/channels/canary%2Fother/events"), status: [400] },
  { name: "channel with NUL", request: publishTo("/v1/channels/canary%00/events"), status: [400] },
  { name: "channel with unicode look-alike", request: publishTo("/v1/channels/c%D0%B0nary/events"), status: [400] },
  {
    name: "batch entry with an injected channel",
    request: publishTo("/v1/events", {
      body: JSON.stringify({
        events: [
          { channel: CANARY, data: "ok" },
          { channel: "x\ny", data: "x" },
        ],
      }),
    }),
    status: [400],
  },
  {
    name: "batch entry with __proto__ tricks",
    request: publishTo("/v1/events", {
      body: '{"events":[{"channel":"canary","data":"ok"},{"__proto__":{"channel":"canary"},"data":"x"}]}',
    }),
    status: [400],
  },
  {
    name: "Last-Event-ID with a frame in the query",
    request: async () => new Request(`${BASE}${canary}?lastEventId=1%0D%0Aevent:%20x`),
    status: [400],
  },
  {
    name: "Last-Event-ID far beyond 2^53",
    request: async () => new Request(`${BASE}${canary}`, { headers: { "Last-Event-ID": "9".repeat(40) } }),
    status: [400],
  },
  {
    name: "Idempotency-Key with control characters",
    request: publishTo(canary, { headers: { "Idempotency-Key": "k\u0001ey" } }),
    status: [400],
  },
  {
    name: "Idempotency-Key far too long",
    request: publishTo(canary, { headers: { "Idempotency-Key": "k".repeat(300) } }),
    status: [400],
  },
  // Wrong content types.
  {
    name: "XML body",
    request: publishTo(canary, { headers: { "Content-Type": "application/xml" }, body: "<data>x</data>" }),
    status: [415],
  },
  {
    name: "multipart body",
    request: publishTo(canary, { headers: { "Content-Type": "multipart/form-data; boundary=x" }, body: "--x--" }),
    status: [415],
  },
  {
    name: "no content type",
    request: async () =>
      new Request(`${BASE}${canary}`, {
        method: "POST",
        headers: { Authorization: `Bearer ${TOKEN}` },
        body: new Uint8Array([123, 125]),
      }),
    status: [415],
  },
  {
    name: "form body",
    request: publishTo(canary, { headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: "data=x" }),
    status: [415],
  },
  // Broken JSON.
  { name: "truncated JSON", request: publishTo(canary, { body: '{"data": "x"' }), status: [400] },
  { name: "trailing comma", request: publishTo(canary, { body: '{"data": "x",}' }), status: [400] },
  { name: "JSON null", request: publishTo(canary, { body: "null" }), status: [400] },
  { name: "JSON string", request: publishTo(canary, { body: '"data"' }), status: [400] },
  {
    name: "deeply nested JSON",
    request: publishTo(canary, { body: `{"data":${"[".repeat(50_000)}${"]".repeat(50_000)}}` }),
    status: [400, 413],
  },
  {
    name: "invalid UTF-8 bytes",
    request: async () =>
      new Request(`${BASE}${canary}`, {
        method: "POST",
        headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
        body: new Uint8Array([0x7b, 0x22, 0x64, 0xff, 0xfe]),
      }),
    status: [400],
  },
  {
    name: "body over MAX_BODY_BYTES",
    request: publishTo(canary, { body: JSON.stringify({ data: "x".repeat(100_000) }) }),
    status: [413],
  },
  // Huge headers.
  { name: "huge Authorization header", request: withToken("t".repeat(60_000)), status: [400, 401, 413, 431] },
  {
    name: "huge Last-Event-ID header",
    request: async () => new Request(`${BASE}${canary}`, { headers: { "Last-Event-ID": "1".repeat(60_000) } }),
    status: [400, 413, 431],
  },
  {
    name: "huge cookie on a private channel",
    request: async () =>
      new Request(`${BASE}/v1/channels/private-x/events`, { headers: { Cookie: `sse_token=${"a".repeat(60_000)}` } }),
    status: [401, 413, 431],
  },
  // Path tricks.
  { name: "dot-dot segment", request: publishTo("/v1/channels/../events"), status: [400] },
  {
    name: "encoded dot-dot into another route",
    request: publishTo("/v1/channels/%2e%2e/%2e%2e/v1/events"),
    status: [400, 404],
  },
  { name: "double-encoded dots", request: publishTo("/v1/channels/%252e%252e/events"), status: [400] },
  { name: "double slash", request: publishTo("/v1//channels/canary/events"), status: [404] },
  { name: "extra path segment", request: publishTo("/v1/channels/canary/events/extra"), status: [404] },
  { name: "upper-case route", request: publishTo("/V1/CHANNELS/canary/EVENTS"), status: [404] },
  // Bad tokens of every kind.
  { name: "no token", request: publishTo(canary, { headers: { Authorization: "" } }), status: [401] },
  { name: "empty bearer", request: withToken(""), status: [401] },
  { name: "token prefix", request: withToken("test-toke"), status: [401] },
  { name: "token with suffix", request: withToken("test-token2"), status: [401] },
  {
    name: "token with trailing garbage",
    request: publishTo(canary, { headers: { Authorization: "Bearer test-token extra" } }),
    status: [401],
  },
  {
    name: "basic auth",
    request: publishTo(canary, { headers: { Authorization: `Basic ${btoa("test-token:")}` } }),
    status: [401],
  },
  {
    name: "token in the query string",
    request: async () =>
      new Request(`${BASE}${canary}?token=test-token`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: '{"data":"x"}',
      }),
    status: [401],
  },
  {
    name: "forged publisher JWT",
    request: async () =>
      post(canary, {
        headers: {
          Authorization: `Bearer ${await sign({ scope: "publish", channels: ["*"], exp: inSeconds(60) }, "attacker-secret-attacker-secret-00", "HS256")}`,
        },
      }),
    status: [401],
  },
  {
    name: "expired publisher JWT",
    request: async () =>
      post(canary, {
        headers: {
          Authorization: `Bearer ${await sign({ scope: "publish", channels: ["*"], exp: inSeconds(-60) }, "test-publish-secret-0123456789abcdef", "HS256")}`,
        },
      }),
    status: [401],
  },
  {
    name: "publisher JWT with alg none",
    request: withToken(
      `${b64url({ alg: "none", typ: "JWT" })}.${b64url({ scope: "publish", channels: ["*"], exp: inSeconds(60) })}.`,
    ),
    status: [401],
  },
  {
    name: "publisher JWT without exp",
    request: async () =>
      post(canary, {
        headers: {
          Authorization: `Bearer ${await sign({ scope: "publish", channels: ["*"] }, "test-publish-secret-0123456789abcdef", "HS256")}`,
        },
      }),
    status: [401],
  },
  {
    name: "subscriber JWT used to publish",
    request: async () =>
      post(canary, {
        headers: {
          Authorization: `Bearer ${await sign({ scope: "subscribe", channels: ["*"], exp: inSeconds(60) }, "test-publish-secret-0123456789abcdef", "HS256")}`,
        },
      }),
    status: [401],
  },
  {
    name: "publisher JWT for another channel",
    request: async () =>
      post(canary, {
        headers: {
          Authorization: `Bearer ${await sign({ scope: "publish", channels: ["other-*"], exp: inSeconds(60) }, "test-publish-secret-0123456789abcdef", "HS256")}`,
        },
      }),
    status: [403],
  },
];

describe("malicious and malformed requests", () => {
  it.each(attacks.map((attack) => [attack.name, attack] as const))("%s", async (_name, attack) => {
    const before = await stats(CANARY);
    const response = await SELF.fetch(await attack.request());
    expect(attack.status).toContain(response.status);
    const text = await response.text();
    if (response.status < 500 && response.headers.get("Content-Type")?.startsWith("application/json")) {
      const body = JSON.parse(text) as { error: unknown; message: unknown };
      expect(typeof body.error).toBe("string");
      expect(typeof body.message).toBe("string");
    }
    expect(text).not.toMatch(/\n\s+at |\.ts:\d+|Error:/);
    for (const secret of SECRETS) expect(text).not.toContain(secret);
    expect(await stats(CANARY)).toEqual(before);
  });
});
