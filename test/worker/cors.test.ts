import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createOriginMatcher } from "../../src/http/cors";
import { BASE, freshChannel, fetchWithEnv } from "./relay-client";

function preflight(origin: string, requestHeaders = "last-event-id"): Promise<Response> {
  return SELF.fetch(`${BASE}/v1/channels/${freshChannel()}/events`, {
    method: "OPTIONS",
    headers: {
      Origin: origin,
      "Access-Control-Request-Method": "GET",
      "Access-Control-Request-Headers": requestHeaders,
    },
  });
}

describe("CORS", () => {
  it("answers a preflight from an allowed origin, allowing Last-Event-ID", async () => {
    const response = await preflight("https://app.example.com");
    expect(response.status).toBe(204);
    expect(response.headers.get("Access-Control-Allow-Origin")).toBe("https://app.example.com");
    expect(response.headers.get("Access-Control-Allow-Headers")?.toLowerCase()).toContain("last-event-id");
    expect(response.headers.get("Access-Control-Allow-Methods")).toContain("GET");
    expect(response.headers.get("Vary")).toContain("Origin");
  });

  it("matches wildcard-subdomain patterns, but not the bare domain or look-alikes", async () => {
    for (const allowed of ["https://shop.example.org", "https://a.b.example.org"]) {
      expect((await preflight(allowed)).headers.get("Access-Control-Allow-Origin")).toBe(allowed);
    }
    for (const refused of [
      "https://example.org",
      "https://evilexample.org",
      "http://shop.example.org",
      "https://shop.example.org.evil.com",
      "null",
    ]) {
      expect((await preflight(refused)).headers.get("Access-Control-Allow-Origin")).toBeNull();
    }
  });

  it("adds the allowed origin to a real stream response, and nothing for another origin", async () => {
    const allowed = await SELF.fetch(`${BASE}/v1/channels/${freshChannel()}/events`, {
      headers: { Origin: "https://app.example.com" },
    });
    expect(allowed.headers.get("Access-Control-Allow-Origin")).toBe("https://app.example.com");
    expect(allowed.headers.get("Content-Type")).toBe("text/event-stream; charset=utf-8");
    await allowed.body?.cancel();
    const other = await SELF.fetch(`${BASE}/v1/channels/${freshChannel()}/events`, {
      headers: { Origin: "https://evil.example.net" },
    });
    expect(other.headers.get("Access-Control-Allow-Origin")).toBeNull();
    await other.body?.cancel();
  });

  it("adds CORS headers to errors too, so pages can read the message", async () => {
    const response = await SELF.fetch(`${BASE}/v1/channels/bad%20name/events`, {
      headers: { Origin: "https://app.example.com" },
    });
    expect(response.status).toBe(400);
    expect(response.headers.get("Access-Control-Allow-Origin")).toBe("https://app.example.com");
  });

  it("with ALLOWED_ORIGINS=* answers * when credentials are off", async () => {
    const request = new Request(`${BASE}/v1/channels/x/events`, {
      method: "OPTIONS",
      headers: { Origin: "https://anywhere.test", "Access-Control-Request-Method": "GET" },
    });
    const response = await fetchWithEnv({ ALLOWED_ORIGINS: "*" }, request);
    expect(response.headers.get("Access-Control-Allow-Origin")).toBe("*");
  });

  it("with credentials never answers *, and never reflects an origin that is not allowed", async () => {
    const ask = (origin: string, origins: string) =>
      fetchWithEnv(
        { ALLOWED_ORIGINS: origins, ALLOW_CREDENTIALS: "true" },
        new Request(`${BASE}/v1/channels/x/events`, {
          method: "OPTIONS",
          headers: { Origin: origin, "Access-Control-Request-Method": "GET" },
        }),
      );
    const listed = await ask("https://app.example.com", "https://app.example.com,https://*.example.org");
    expect(listed.headers.get("Access-Control-Allow-Origin")).toBe("https://app.example.com");
    expect(listed.headers.get("Access-Control-Allow-Credentials")).toBe("true");
    const pattern = await ask("https://shop.example.org", "https://app.example.com,https://*.example.org");
    expect(pattern.headers.get("Access-Control-Allow-Origin")).toBe("https://shop.example.org");
    for (const origin of ["https://evil.test", "null", "https://example.org"]) {
      const refused = await ask(origin, "https://app.example.com,https://*.example.org");
      expect(refused.headers.get("Access-Control-Allow-Origin")).toBeNull();
    }
  });

  it("refuses the configuration credentials + * (any website could read a visitor's private channels)", async () => {
    const response = await fetchWithEnv(
      { ALLOWED_ORIGINS: "*", ALLOW_CREDENTIALS: "true" },
      new Request(`${BASE}/v1/channels/x/events`, { headers: { Origin: "https://evil.test" } }),
    );
    expect(response.status).toBe(500);
    expect(response.headers.get("Access-Control-Allow-Origin")).toBeNull();
    expect(((await response.json()) as { message: string }).message).toContain("ALLOW_CREDENTIALS");
    // And the matcher itself never answers "*" or an arbitrary origin with credentials.
    const match = createOriginMatcher({ allowedOrigins: ["*"], allowCredentials: true });
    expect(match("https://evil.test")).toBeNull();
  });

  it("with no ALLOWED_ORIGINS, allows no cross-origin reads", () => {
    const match = createOriginMatcher({ allowedOrigins: [], allowCredentials: false });
    expect(match("https://app.example.com")).toBeNull();
    expect(match("")).toBeNull();
  });
});
