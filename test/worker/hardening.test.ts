/** Smaller refusals of issue 11: headers on every answer, CORS credentials, host names, the demo's content type. */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { isServedHost, isServedRequest } from "../../src/http/hosts";
import { BASE, TOKEN, fetchWithEnv, freshChannel } from "./relay-client";

describe("X-Content-Type-Options: nosniff", () => {
  it("is on every answer: streams, JSON, errors, refusals, assets, the demo", async () => {
    const channel = freshChannel();
    const requests: [Record<string, string>, Request][] = [
      [{}, new Request(`${BASE}/healthz`)],
      [{}, new Request(`${BASE}/v1/channels/${channel}/events`)],
      [{}, new Request(`${BASE}/v1/channels/${channel}`, { headers: { Authorization: `Bearer ${TOKEN}` } })],
      [{}, new Request(`${BASE}/v1/channels/${channel}/events`, { method: "POST" })],
      [{}, new Request(`${BASE}/v1/channels/bad channel/events`)],
      [{}, new Request(`${BASE}/nope`)],
      [{}, new Request(`${BASE}/healthz`, { method: "DELETE" })],
      [{}, new Request(`${BASE}/client.js`)],
      [{}, new Request(`${BASE}/client.d.ts`)],
      [
        {},
        new Request(`${BASE}/v1/channels/x/events`, {
          method: "OPTIONS",
          headers: { Origin: "https://app.example.com", "Access-Control-Request-Method": "GET" },
        }),
      ],
      [{ RELAY_HOSTS: "sse.example.com" }, new Request("https://elsewhere.example.net/healthz")],
      [{ HEARTBEAT_MS: "soon" }, new Request(`${BASE}/healthz`)],
      [{ DEMO_ENABLED: "true" }, new Request(`${BASE}/demo/`)],
      [{ DEMO_ENABLED: "true" }, new Request(`${BASE}/demo/state`)],
      [{}, new Request(`${BASE}/demo/`)],
    ];
    for (const [overrides, request] of requests) {
      const response = await fetchWithEnv(overrides, request);
      expect(response.headers.get("X-Content-Type-Options"), `${request.method} ${request.url}`).toBe("nosniff");
      await response.body?.cancel();
    }
  });
});

describe("CORS with credentials", () => {
  const credentials = { ALLOWED_ORIGINS: "https://app.example.com", ALLOW_CREDENTIALS: "true" };
  const preflight = (origin: string) =>
    new Request(`${BASE}/v1/channels/x/events`, {
      method: "OPTIONS",
      headers: { Origin: origin, "Access-Control-Request-Method": "GET" },
    });
  const get = (origin: string) => new Request(`${BASE}/v1/channels/x`, { headers: { Origin: origin } });

  it("sends Access-Control-Allow-Credentials only together with an allowed origin", async () => {
    for (const request of [preflight("https://evil.example.net"), get("https://evil.example.net")]) {
      const refused = await fetchWithEnv(credentials, request);
      expect(refused.headers.get("Access-Control-Allow-Origin"), request.method).toBeNull();
      expect(refused.headers.get("Access-Control-Allow-Credentials"), request.method).toBeNull();
    }
    for (const request of [preflight("https://app.example.com"), get("https://app.example.com")]) {
      const allowed = await fetchWithEnv(credentials, request);
      expect(allowed.headers.get("Access-Control-Allow-Origin"), request.method).toBe("https://app.example.com");
      expect(allowed.headers.get("Access-Control-Allow-Credentials"), request.method).toBe("true");
    }
  });
});

describe("the host guard", () => {
  // RELAY_HOSTS is matched exactly, shard patterns expanded (sse.example.com,s{n}.sse.example.com with SHARDS=2).
  const hosts = ["sse.example.com", "s0.sse.example.com", "s1.sse.example.com"];

  it("refuses empty labels and user info", async () => {
    for (const host of [".sse.example.com", "s0..sse.example.com", "-.sse.example.com", "s0.sse.example.com.."]) {
      expect(isServedHost(host, hosts), host).toBe(false);
    }
    for (const host of ["sse.example.com", "s0.sse.example.com", "S1.SSE.example.com", "sse.example.com."]) {
      expect(isServedHost(host, hosts), host).toBe(true);
    }
    expect(isServedRequest(new URL("https://x@sse.example.com/healthz"), undefined, hosts)).toBe(false);
    expect(isServedRequest(new URL("https://x:y@sse.example.com/healthz"), undefined, hosts)).toBe(false);
    expect(isServedRequest(new URL("https://sse.example.com/healthz"), "x@sse.example.com", hosts)).toBe(false);
    expect(isServedRequest(new URL("https://sse.example.com/healthz"), "sse.example.com:443", hosts)).toBe(true);
    expect(isServedRequest(new URL("https://x@anything/"), "a b", [])).toBe(true);
  });

  it("answers 421 to such hosts over HTTP", async () => {
    const on = { RELAY_HOSTS: "sse.example.com,s{n}.sse.example.com", SHARDS: "1" };
    for (const url of ["https://.sse.example.com/healthz", "https://s0..sse.example.com/healthz"]) {
      const response = await fetchWithEnv(on, new Request(url));
      expect(response.status, url).toBe(421);
    }
    const withHost = new Request(`${BASE}/healthz`, { headers: { Host: "x@sse.example.com" } });
    expect((await fetchWithEnv(on, withHost)).status).toBe(421);
    expect((await fetchWithEnv(on, new Request("https://s0.sse.example.com/healthz"))).status).toBe(200);
  });
});

describe("the demo's edit endpoint", () => {
  it("takes application/json only: a form on any site could post text/plain", async () => {
    const on = { DEMO_ENABLED: "true" };
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""]) {
      const response = await fetchWithEnv(
        on,
        new Request(`${BASE}/demo/note`, {
          method: "POST",
          headers: type === "" ? {} : { "Content-Type": type },
          body: '{"text":"posted by a form elsewhere"}',
        }),
      );
      expect({ type, status: response.status }).toEqual({ type, status: 415 });
      expect(((await response.json()) as { error: string }).error).toBe("unsupported_media_type");
    }
    const state = (await (await fetchWithEnv(on, new Request(`${BASE}/demo/state`))).json()) as {
      lastEventId: string | null;
    };
    const accepted = await fetchWithEnv(
      on,
      new Request(`${BASE}/demo/note`, {
        method: "POST",
        headers: { "Content-Type": "application/json; charset=utf-8" },
        body: '{"text":"from the page"}',
      }),
    );
    expect(accepted.status).toBe(201);
    expect(((await accepted.json()) as { id: string }).id).not.toBe(state.lastEventId);
  });
});

it("the worker under SELF answers nosniff too", async () => {
  const response = await SELF.fetch(`${BASE}/healthz`);
  expect(response.headers.get("X-Content-Type-Options")).toBe("nosniff");
});
