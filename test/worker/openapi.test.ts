/**
 * The OpenAPI document (/openapi.json) is kept true: real requests to every
 * documented operation, each answer checked against the schema the document
 * gives for its path, method, status and content type. An undocumented
 * status or a body that does not fit fails; so does an operation no request
 * here exercises.
 */
import { env, SELF } from "cloudflare:test";
import { afterAll, describe, expect, it } from "vitest";
import { OPENAPI_DOCUMENT } from "../../src/routes/openapi";
import { draftToken } from "../support/mercure-token";
import { validate } from "./json-schema";
import { BASE, TOKEN, freshChannel, subscribe } from "./relay-client";

type Operation = { responses: Record<string, { content?: Record<string, { schema: Record<string, unknown> }> }> };
const doc = OPENAPI_DOCUMENT as unknown as { paths: Record<string, Record<string, Operation>> };
const exercised = new Set<string>();

/** Sends the request and checks the answer against the document; returns it (body read) for further checks. */
async function check(template: string, method: string, url: string, init: RequestInit = {}): Promise<Response> {
  const operation = doc.paths[template]?.[method.toLowerCase()];
  expect(operation, `${method} ${template} is not in the document`).toBeDefined();
  const response = await SELF.fetch(`${BASE}${url}`, { ...init, method });
  const documented = operation!.responses[String(response.status)];
  const body = await response.text();
  expect(documented, `${method} ${url} answered ${response.status}, undocumented: ${body}`).toBeDefined();
  const type = (response.headers.get("Content-Type") ?? "").split(";")[0]!.trim();
  const content = documented!.content ?? {};
  expect(Object.keys(content), `${method} ${url} ${response.status} answered ${type}`).toContain(type);
  if (type === "application/json") {
    expect(validate(JSON.parse(body), content[type]!.schema, OPENAPI_DOCUMENT)).toEqual([]);
  }
  exercised.add(`${method} ${template} ${response.status}`);
  return new Response(body, response);
}

const auth = { Authorization: `Bearer ${TOKEN}` };
const jsonHeaders = { ...auth, "Content-Type": "application/json" };
const EVENTS = "/v1/channels/{channel}/events";
const STATS = "/v1/channels/{channel}";

describe("the OpenAPI document matches real answers", () => {
  it("is served at /openapi.json as OpenAPI 3.1 JSON", async () => {
    const response = await SELF.fetch(`${BASE}/openapi.json`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(JSON.parse(JSON.stringify(OPENAPI_DOCUMENT)));
  });

  it("publish one event", async () => {
    const channel = freshChannel("oa");
    const url = `/v1/channels/${channel}/events`;
    const body = JSON.stringify({ data: { n: 1 }, event: "tick" });
    const first = await check(EVENTS, "POST", url, { headers: { ...jsonHeaders, "Idempotency-Key": "k1" }, body });
    expect(first.status).toBe(201);
    await check(EVENTS, "POST", `${url}?event=note`, {
      headers: { ...auth, "Content-Type": "text/plain" },
      body: "hi",
    });
    const other = JSON.stringify({ data: "other" });
    expect(
      (await check(EVENTS, "POST", url, { headers: { ...jsonHeaders, "Idempotency-Key": "k1" }, body: other })).status,
    ).toBe(422);
    expect((await check(EVENTS, "POST", url, { headers: { "Content-Type": "application/json" }, body })).status).toBe(
      401,
    );
    expect((await check(EVENTS, "POST", url, { headers: { ...auth, "Content-Type": "image/png" }, body })).status).toBe(
      415,
    );
    const huge = JSON.stringify({ data: "x".repeat(9_000) });
    expect((await check(EVENTS, "POST", url, { headers: jsonHeaders, body: huge })).status).toBe(413);
    expect((await check(EVENTS, "POST", "/v1/channels/bad%20name/events", { headers: jsonHeaders, body })).status).toBe(
      400,
    );
  });

  it("publish a batch", async () => {
    const [a, b] = [freshChannel("oa"), freshChannel("oa")];
    const events = [
      { channel: a, data: "1" },
      { channel: b, data: 2, event: "n" },
    ];
    expect(
      (await check("/v1/events", "POST", "/v1/events", { headers: jsonHeaders, body: JSON.stringify({ events }) }))
        .status,
    ).toBe(201);
    expect((await check("/v1/events", "POST", "/v1/events", { headers: jsonHeaders, body: "{}" })).status).toBe(400);
  });

  it("channel statistics, with a subscriber connected", async () => {
    const channel = freshChannel("oa");
    const stream = await subscribe(channel);
    const response = await check(STATS, "GET", `/v1/channels/${channel}`, { headers: auth });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { subscribers: number }).subscribers).toBe(1);
    await stream.cancel();
    expect((await check(STATS, "GET", `/v1/channels/${channel}`)).status).toBe(401);
    expect((await check(STATS, "GET", "/v1/channels/bad%20name", { headers: auth })).status).toBe(400);
  });

  it("subscribe: the stream, and refusals", async () => {
    const channel = freshChannel("oa");
    const operation = doc.paths[EVENTS]!.get!;
    const response = await SELF.fetch(`${BASE}/v1/channels/${channel}/events`);
    expect(Object.keys(operation.responses["200"]!.content!)).toContain(
      response.headers.get("Content-Type")!.split(";")[0],
    );
    await response.body!.cancel();
    exercised.add(`GET ${EVENTS} 200`);
    expect((await check(EVENTS, "GET", `/v1/channels/${channel}/events?lastEventId=x`)).status).toBe(400);
    expect((await check(EVENTS, "GET", `/v1/channels/private-${channel}/events`)).status).toBe(401);
  });

  it("presence read: a public presence channel, a private one, and channels without presence", async () => {
    const PRESENCE = "/v1/channels/{channel}/presence";
    const channel = freshChannel("seen");
    const response = await check(PRESENCE, "GET", `/v1/channels/${channel}/presence`);
    expect(response.status).toBe(200);
    expect((await check(PRESENCE, "GET", `/v1/channels/private-${channel}/presence`)).status).toBe(401);
    expect((await check(PRESENCE, "GET", `/v1/channels/${freshChannel("oa")}/presence`)).status).toBe(404);
    expect((await check(PRESENCE, "GET", "/v1/channels/bad%20name/presence")).status).toBe(400);
  });

  it("subscribe to several channels: the stream, and refusals", async () => {
    // Upper case: outside the direct-mode prefixes of the worker-direct project (private prefixes ignore case).
    const [a, b] = [freshChannel("OA"), freshChannel("OA")];
    const operation = doc.paths["/v1/events"]!.get!;
    const response = await SELF.fetch(`${BASE}/v1/events?channel=${a}&channel=${b}`);
    expect(response.status).toBe(200);
    expect(Object.keys(operation.responses["200"]!.content!)).toContain(
      response.headers.get("Content-Type")!.split(";")[0],
    );
    await response.body!.cancel();
    exercised.add("GET /v1/events 200");
    const refused = (query: string) => check("/v1/events", "GET", `/v1/events?${query}`);
    expect((await refused(`channel=${a}&channel=${b}&lastEventId=0:1`)).status).toBe(400);
    expect((await refused(`channel=${a}&channel=PRIVATE-${b}`)).status).toBe(401);
  });

  it("the Mercure hub: publish, subscribe, metadata, and refusals", async () => {
    const HUB = "/.well-known/mercure";
    const hub = `${BASE}${HUB}`;
    const token = await draftToken(env.MERCURE_PUBLISHER_JWT_KEY as string, hub, ["publish"], [{ match: "*" }]);
    const form = (fields: string, authorization: string | null = `Bearer ${token}`) => ({
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        ...(authorization === null ? {} : { Authorization: authorization }),
      },
      body: fields,
    });
    const topic = `https://example.com/oa/${Math.random().toString(36).slice(2, 8)}`;
    const response = await SELF.fetch(`${hub}?match=${encodeURIComponent(topic)}&last_event_id=earliest`);
    expect(response.status).toBe(200);
    expect(Object.keys(doc.paths[HUB]!.get!.responses["200"]!.content!)).toContain(
      response.headers.get("Content-Type")!.split(";")[0],
    );
    expect(response.headers.get("Mercure-Last-Event-ID")).toBe("earliest");
    await response.body!.cancel();
    exercised.add(`GET ${HUB} 200`);
    expect((await check(HUB, "GET", `${HUB}?matchURLPattern=x`)).status).toBe(400);
    const published = await check(HUB, "POST", HUB, form(`topic=${encodeURIComponent(topic)}&data=x`));
    expect([published.status, await published.text()]).toEqual([200, expect.stringMatching(/^urn:uuid:/)]);
    expect((await check(HUB, "POST", HUB, form("topic=*&data=x"))).status).toBe(400);
    expect((await check(HUB, "POST", HUB, form("topic=a&data=x", null))).status).toBe(401);
    expect((await check(HUB, "POST", HUB, form("topic=a&data=x", "Bearer a.b.c"))).status).toBe(401);
    const narrow = await draftToken(env.MERCURE_PUBLISHER_JWT_KEY as string, hub, ["publish"], [{ match: "b" }]);
    expect((await check(HUB, "POST", HUB, form("topic=a&data=x", `Bearer ${narrow}`))).status).toBe(403);
    const metadata = "/.well-known/oauth-protected-resource/.well-known/mercure";
    expect((await check(metadata, "GET", metadata)).status).toBe(200);
  });

  it("health", async () => {
    expect((await check("/healthz", "GET", "/healthz")).status).toBe(200);
  });

  afterAll(() => {
    // Every operation of the document was exercised with its success status at least.
    const successes = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([method]) => method !== "parameters")
        .map(([method, operation]) => {
          const status = Object.keys(operation.responses).find((code) => code.startsWith("2"))!;
          return `${method.toUpperCase()} ${path} ${status}`;
        }),
    );
    expect(successes.filter((entry) => !exercised.has(entry))).toEqual([]);
  });
});

describe("the validator can fail", () => {
  it("reports a missing property, a wrong type, an extra property and an unknown keyword", () => {
    const schema = OPENAPI_DOCUMENT.components.schemas.PublishResult;
    expect(validate({ channel: "a", id: "1" }, schema, OPENAPI_DOCUMENT)).toEqual([]);
    expect(validate({ channel: "a" }, schema, OPENAPI_DOCUMENT)).toEqual(['$: missing "id"']);
    expect(validate({ channel: 1, id: "1" }, schema, OPENAPI_DOCUMENT)).toHaveLength(1);
    expect(validate({ channel: "a", id: "x1" }, schema, OPENAPI_DOCUMENT)).toHaveLength(1);
    expect(validate({ channel: "a", id: "1", extra: true }, schema, OPENAPI_DOCUMENT)).toHaveLength(1);
    expect(validate(1, { format: "int32" }, OPENAPI_DOCUMENT)).toHaveLength(1);
  });
});
