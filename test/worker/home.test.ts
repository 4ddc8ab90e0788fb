/** `/` tells a newcomer what this is and where to go; `/favicon.ico` is not an error. */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { BASE, fetchWithEnv } from "./relay-client";

describe("the home page", () => {
  it("answers browsers with HTML linking the API description, health and (when on) the demo", async () => {
    const response = await SELF.fetch(`${BASE}/`, { headers: { Accept: "text/html,*/*;q=0.8" } });
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toContain("text/html");
    const html = await response.text();
    for (const link of ['href="/openapi.json"', 'href="/healthz"', 'href="/client.js"']) expect(html).toContain(link);
    expect(html).toContain("DEMO_ENABLED=true"); // off in the test configuration: says how to turn it on
    const withDemo = await fetchWithEnv(
      { DEMO_ENABLED: "true" },
      new Request(`${BASE}/`, { headers: { Accept: "text/html" } }),
    );
    expect(await withDemo.text()).toContain('href="/demo"');
  });

  it("answers other clients with JSON whose links all work", async () => {
    const response = await SELF.fetch(`${BASE}/`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { name: string; links: Record<string, string | null> };
    expect(body.name).toBe("edge-sse-relay");
    expect(body.links.demo).toBeNull();
    for (const key of ["api", "health", "client"]) {
      const linked = await SELF.fetch(`${BASE}${body.links[key]}`);
      await linked.arrayBuffer();
      expect(linked.status, `${key}: ${body.links[key]}`).toBe(200);
    }
  });

  it("/favicon.ico answers 204, not a JSON 404", async () => {
    const response = await SELF.fetch(`${BASE}/favicon.ico`);
    expect(response.status).toBe(204);
    expect(await response.text()).toBe("");
  });
});
