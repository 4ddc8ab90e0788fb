import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { BASE, TOKEN, freshChannel, publish, publishData, stats, fetchWithEnv } from "./relay-client";

interface ErrorBody {
  error: string;
  message: string;
}

async function expectError(response: Response, status: number, code: string): Promise<ErrorBody> {
  expect(response.status).toBe(status);
  expect(response.headers.get("Content-Type")).toMatch(/^application\/json/);
  const body = (await response.json()) as ErrorBody;
  expect(body.error).toBe(code);
  expect(typeof body.message).toBe("string");
  expect(body.message.length).toBeGreaterThan(10);
  // No stack traces or secrets in what a client sees.
  expect(body.message).not.toMatch(/\n\s+at |\.ts:\d|test-token|rotated-token/);
  return body;
}

describe("publish auth", () => {
  it("401 without a token", async () => {
    const channel = freshChannel();
    const response = await publish(channel, { data: "x" }, { token: null });
    await expectError(response, 401, "unauthorized");
    expect(response.headers.get("WWW-Authenticate")).toMatch(/^Bearer/);
  });

  it("401 with a wrong token, and with a malformed Authorization header", async () => {
    const channel = freshChannel();
    await expectError(await publish(channel, { data: "x" }, { token: "wrong-token" }), 401, "unauthorized");
    await expectError(await publish(channel, { data: "x" }, { token: "has spaces and ünïcode" }), 401, "unauthorized");
    await expectError(
      await publish(channel, { data: "x" }, { token: null, headers: { Authorization: "Basic dXNlcjpwYXNz" } }),
      401,
      "unauthorized",
    );
    expect((await stats(channel)).lastEventId).toBeNull();
  });

  it("accepts every token in PUBLISH_TOKENS (rotation)", async () => {
    const channel = freshChannel();
    expect((await publish(channel, { data: "old" }, { token: "test-token" })).status).toBe(201);
    expect((await publish(channel, { data: "new" }, { token: "rotated-token" })).status).toBe(201);
  });

  it("guards stats and batch publish too", async () => {
    const channel = freshChannel();
    await expectError(await SELF.fetch(`${BASE}/v1/channels/${channel}`), 401, "unauthorized");
    const batch = await SELF.fetch(`${BASE}/v1/events`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: "Bearer nope" },
      body: JSON.stringify({ events: [{ channel, data: "x" }] }),
    });
    await expectError(batch, 401, "unauthorized");
  });

  it("fails closed with 503 when no publish token is configured", async () => {
    const request = new Request(`${BASE}/v1/channels/anything/events`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: "Bearer test-token" },
      body: JSON.stringify({ data: "x" }),
    });
    const body = await expectError(
      await fetchWithEnv({ PUBLISH_TOKENS: "", PUBLISH_JWT_SECRET: "" }, request),
      503,
      "publishing_disabled",
    );
    expect(body.message).toContain("PUBLISH_TOKENS");
  });

  it("subscribing needs no token", async () => {
    const response = await SELF.fetch(`${BASE}/v1/channels/${freshChannel()}/events`);
    expect(response.status).toBe(200);
    await response.body?.cancel();
  });
});

describe("bad input is refused with a clear error and changes nothing", () => {
  const cases: [string, () => Promise<Response>, number, string][] = [
    ["invalid channel name", () => publish("bad%20name", { data: "x" }), 400, "invalid_channel"],
    ["channel name of only dots", () => publish("...", { data: "x" }), 400, "invalid_channel"],
    ["channel name too long", () => publish("c".repeat(129), { data: "x" }), 400, "invalid_channel"],
    ["event name with LF", () => publish("refusals", { data: "x", event: "a\nid: 1" }), 400, "invalid_event_name"],
    ["event name with CR", () => publish("refusals", { data: "x", event: "a\rb" }), 400, "invalid_event_name"],
    ["event name with NUL", () => publish("refusals", { data: "x", event: "a\u0000b" }), 400, "invalid_event_name"],
    ["empty event name", () => publish("refusals", { data: "x", event: "" }), 400, "invalid_event_name"],
    ["non-string event name", () => publish("refusals", { data: "x", event: 5 }), 400, "invalid_event_name"],
    ["reserved event name", () => publish("refusals", { data: "x", event: "relay.lost" }), 400, "reserved_event_name"],
    ["missing data", () => publish("refusals", { event: "x" }), 400, "missing_data"],
    ["body not an object", () => publish("refusals", [1, 2]), 400, "invalid_body"],
    ["broken JSON", () => publish("refusals", '{"data": '), 400, "invalid_json"],
    ["event too large", () => publish("refusals", { data: "x".repeat(8193) }), 413, "event_too_large"],
    ["event too large in multibyte", () => publish("refusals", { data: "é".repeat(4097) }), 413, "event_too_large"],
    ["body too large", () => publish("refusals", { data: "x".repeat(70_000) }), 413, "body_too_large"],
    [
      "form content type",
      () => publish("refusals", "data=x", { headers: { "Content-Type": "application/x-www-form-urlencoded" } }),
      415,
      "unsupported_media_type",
    ],
    [
      "text/plain event name with LF",
      () =>
        SELF.fetch(`${BASE}/v1/channels/refusals/events?event=a%0Ab`, {
          method: "POST",
          headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "text/plain" },
          body: "x",
        }),
      400,
      "invalid_event_name",
    ],
    ["batch without events", () => batch({ nope: [] }), 400, "invalid_body"],
    ["empty batch", () => batch({ events: [] }), 400, "invalid_body"],
    [
      "batch too large",
      () => batch({ events: Array.from({ length: 51 }, () => ({ channel: "refusals", data: "x" })) }),
      413,
      "batch_too_large",
    ],
    [
      "batch with one bad channel",
      () =>
        batch({
          events: [
            { channel: "refusals", data: "ok" },
            { channel: "no spaces", data: "x" },
          ],
        }),
      400,
      "invalid_channel",
    ],
    [
      "batch with one bad event name",
      () =>
        batch({
          events: [
            { channel: "refusals", data: "ok" },
            { channel: "refusals", data: "x", event: "a\nb" },
          ],
        }),
      400,
      "invalid_event_name",
    ],
    ["batch as text/plain", () => batch("x", "text/plain"), 415, "unsupported_media_type"],
  ];

  it.each(cases)("%s", async (_name, send, status, code) => {
    await expectError(await send(), status, code);
  });

  it("none of the refusals above stored or sent anything", async () => {
    for (const [, send] of cases) await (await send()).arrayBuffer();
    expect(await stats("refusals")).toMatchObject({ lastEventId: null, eventsRetained: 0 });
  });

  it("400 for a Last-Event-ID that is not an id this relay issues", async () => {
    const channel = freshChannel();
    for (const bad of ["abc", "-1", "1.5", "1e3", "99999999999999999999"]) {
      const response = await SELF.fetch(`${BASE}/v1/channels/${channel}/events`, { headers: { "Last-Event-ID": bad } });
      await expectError(response, 400, "invalid_last_event_id");
    }
    await expectError(
      await SELF.fetch(`${BASE}/v1/channels/${channel}/events?lastEventId=x`),
      400,
      "invalid_last_event_id",
    );
  });

  it("404 for unknown paths, 405 with Allow for wrong methods", async () => {
    await expectError(await SELF.fetch(`${BASE}/v2/nothing`), 404, "not_found");
    await expectError(await SELF.fetch(`${BASE}/v1/channels/a/b/c`), 404, "not_found");
    const put = await SELF.fetch(`${BASE}/v1/channels/x/events`, { method: "PUT", body: "x" });
    await expectError(put, 405, "method_not_allowed");
    expect(put.headers.get("Allow")).toBe("GET, POST, OPTIONS");
    const deleteBatch = await SELF.fetch(`${BASE}/v1/events`, { method: "DELETE" });
    await expectError(deleteBatch, 405, "method_not_allowed");
    expect(deleteBatch.headers.get("Allow")).toBe("GET, POST, OPTIONS");
    await expectError(await SELF.fetch(`${BASE}/v1/channels/x`, { method: "DELETE" }), 405, "method_not_allowed");
  });

  it("a misconfigured relay names the variable", async () => {
    const response = await fetchWithEnv({ HEARTBEAT_MS: "soon" }, new Request(`${BASE}/healthz`));
    const body = await expectError(response, 500, "config_invalid");
    expect(body.message).toContain("HEARTBEAT_MS");
    const origins = await fetchWithEnv({ ALLOWED_ORIGINS: "example.com" }, new Request(`${BASE}/v1/channels/a/events`));
    expect((await expectError(origins, 500, "config_invalid")).message).toContain("ALLOWED_ORIGINS");
  });

  it("a refused publish leaves the channel exactly as it was", async () => {
    const channel = freshChannel();
    await publishData(channel, "kept");
    const before = await stats(channel);
    await (await publish(channel, { data: "x", event: "evil\n\ndata: injected" })).arrayBuffer();
    await (await publish(channel, { data: "x" }, { token: "wrong" })).arrayBuffer();
    expect(await stats(channel)).toEqual(before);
  });
});

function batch(body: unknown, contentType = "application/json"): Promise<Response> {
  return SELF.fetch(`${BASE}/v1/events`, {
    method: "POST",
    headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": contentType },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}
