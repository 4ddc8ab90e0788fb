/**
 * No answer and no log line ever contains a secret's value: for every
 * setting marked secret, set to a recognizable bad (or good) value, on
 * every path, refusals (421, CORS) included.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ConfigError, SECRET_SETTINGS, type RawConfig } from "../../src/config";
import { BASE, TOKEN, fetchWithEnv } from "./relay-client";

/** Everything the relay printed while a test ran. */
let logged: string[] = [];
beforeEach(() => {
  logged = [];
  for (const method of ["log", "info", "warn", "error", "debug"] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      logged.push(args.map((arg) => (typeof arg === "string" ? arg : String(arg))).join(" "));
    });
  }
});
afterEach(() => vi.restoreAllMocks());

const VALID_REDIS = {
  UPSTASH_REDIS_REST_URL: "https://eu1.upstash.io",
  UPSTASH_REDIS_REST_TOKEN: "valid-redis-token",
  REDIS_CHANNEL_PREFIXES: "*",
};

/** Each secret set to a bad value that a careless message would echo; `marker` must never show. */
const badSecrets: { name: (typeof SECRET_SETTINGS)[number]; env: Record<string, string>; marker: string }[] = [
  { name: "PUBLISH_TOKENS", env: { PUBLISH_TOKENS: "good-token,leakPUBTOKx y" }, marker: "leakPUBTOK" },
  { name: "SUBSCRIBE_JWT_SECRET", env: { SUBSCRIBE_JWT_SECRET: "leakSUBSECx" }, marker: "leakSUBSEC" },
  { name: "PUBLISH_JWT_SECRET", env: { PUBLISH_JWT_SECRET: "leakPUBSECx" }, marker: "leakPUBSEC" },
  {
    name: "UPSTASH_REDIS_REST_URL",
    // What Upstash's console shows next to the REST URL: an easy slip.
    env: { ...VALID_REDIS, UPSTASH_REDIS_REST_URL: "rediss://default:leakREDISPW0123@eu1-x.upstash.io:6379" },
    marker: "leakREDISPW",
  },
  {
    name: "UPSTASH_REDIS_REST_URL",
    env: { ...VALID_REDIS, UPSTASH_REDIS_REST_URL: "leakURLx not a url" },
    marker: "leakURL",
  },
  {
    name: "UPSTASH_REDIS_REST_URL",
    env: { ...VALID_REDIS, UPSTASH_REDIS_REST_URL: "https://user:leakHTTPSPW@eu1.upstash.io" },
    marker: "leakHTTPSPW",
  },
  {
    name: "UPSTASH_REDIS_REST_TOKEN",
    env: { ...VALID_REDIS, UPSTASH_REDIS_REST_TOKEN: "leakREDISTOKx y" },
    marker: "leakREDISTOK",
  },
];

/** One request per path the relay has, refusals included. */
function everyPath(): { name: string; request: Request }[] {
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    new Request(`${BASE}${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${TOKEN}`, ...headers },
      body: JSON.stringify(body),
    });
  return [
    { name: "/healthz", request: new Request(`${BASE}/healthz`) },
    { name: "subscribe", request: new Request(`${BASE}/v1/channels/secrets-x/events`) },
    { name: "private subscribe", request: new Request(`${BASE}/v1/channels/private-x/events?token=a.b.c`) },
    { name: "publish", request: post("/v1/channels/secrets-x/events", { data: "x" }) },
    {
      name: "publish, wrong token",
      request: post("/v1/channels/x/events", { data: "x" }, { Authorization: "Bearer no" }),
    },
    { name: "batch", request: post("/v1/events", { events: [{ channel: "secrets-x", data: "x" }] }) },
    {
      name: "stats",
      request: new Request(`${BASE}/v1/channels/secrets-x`, { headers: { Authorization: `Bearer ${TOKEN}` } }),
    },
    {
      name: "CORS refusal (preflight)",
      request: new Request(`${BASE}/v1/channels/x/events`, {
        method: "OPTIONS",
        headers: { Origin: "https://evil.example.net", "Access-Control-Request-Method": "GET" },
      }),
    },
    {
      name: "CORS refusal (GET)",
      request: new Request(`${BASE}/v1/channels/x`, { headers: { Origin: "https://evil.example.net" } }),
    },
    { name: "421 host refusal", request: new Request("https://other.example.net/healthz") },
    { name: "/demo", request: new Request(`${BASE}/demo/`) },
    { name: "/demo/note", request: post("/demo/note", { text: "x" }) },
    { name: "/client.js", request: new Request(`${BASE}/client.js`) },
    { name: "404", request: new Request(`${BASE}/nope`) },
    { name: "405", request: new Request(`${BASE}/healthz`, { method: "DELETE" }) },
  ];
}

async function answerText(response: Response): Promise<string> {
  const headers = [...response.headers].map(([name, value]) => `${name}: ${value}`).join("\n");
  // A stream stays open: its headers are what there is to check.
  const streaming = response.headers.get("Content-Type")?.startsWith("text/event-stream");
  if (streaming) await response.body?.cancel();
  const body = streaming ? "" : await response.text();
  return `${response.status}\n${headers}\n\n${body}`;
}

describe("secrets never appear in an answer or a log line", () => {
  it("ConfigError shows the offending value only for settings that are not secret", () => {
    for (const name of SECRET_SETTINGS) {
      expect(new ConfigError(name, "is wrong", "VALUE-123").message).toBe(
        `${name} is wrong (the value is a secret and is not shown)`,
      );
    }
    expect(new ConfigError("HEARTBEAT_MS", "is wrong", "soon").message).toBe('HEARTBEAT_MS is wrong, got "soon"');
  });

  it("a Mercure key the hub cannot import answers 500 naming it, without its value", async () => {
    const keys = [
      { MERCURE_PUBLISHER_JWT_KEY: "leakMERCPUBx-short" },
      { MERCURE_SUBSCRIBER_JWT_KEY: "leakMERCSUBx-not-a-pem-or-jwk", MERCURE_SUBSCRIBER_JWT_ALG: "ES256" },
    ];
    for (const env of keys) {
      const request = new Request(`${BASE}/.well-known/mercure?match=x`);
      const text = await answerText(await fetchWithEnv(env, request));
      const [name] = Object.keys(env);
      expect(text, name).toMatch(/^500\n/);
      expect(text, name).toContain(name!);
      expect(text, name).not.toContain("leakMERC");
    }
  });

  it.each(badSecrets)("a bad $name ($marker) answers 500 naming it, on every path, without its value", async (bad) => {
    for (const { name, request } of everyPath()) {
      const overrides: RawConfig = { RELAY_HOSTS: "sse.example.com", DEMO_ENABLED: "true", ...bad.env };
      const text = await answerText(await fetchWithEnv(overrides as Record<string, string>, request));
      expect(text, name).toMatch(/^500\n/);
      expect(text, name).toContain('"config_invalid"');
      expect(text, name).toContain(bad.name);
      expect(text, name).not.toContain(bad.marker);
    }
    expect(logged.join("\n")).toContain(bad.name);
    expect(logged.join("\n")).not.toContain(bad.marker);
  });

  it("with valid recognizable secrets and another setting bad, or with refusals, none shows", async () => {
    const secrets = {
      PUBLISH_TOKENS: "leakValidPubTok",
      SUBSCRIBE_JWT_SECRET: "leakValidSubscribeSecret-0123456789abcdef",
      PUBLISH_JWT_SECRET: "leakValidPublishSecret-0123456789abcdef",
      UPSTASH_REDIS_REST_URL: "https://leakValidRedisHost.upstash.io",
      UPSTASH_REDIS_REST_TOKEN: "leakValidRedisToken",
      REDIS_CHANNEL_PREFIXES: "orders-",
      RELAY_HOSTS: "sse.example.com",
      DEMO_ENABLED: "true",
    };
    for (const overrides of [secrets, { ...secrets, HEARTBEAT_MS: "soon" }]) {
      for (const { name, request } of everyPath()) {
        const text = await answerText(await fetchWithEnv(overrides, request));
        expect(text, name).not.toMatch(/leakValid/);
      }
    }
    expect(logged.join("\n")).not.toMatch(/leakValid/);
  });
});
