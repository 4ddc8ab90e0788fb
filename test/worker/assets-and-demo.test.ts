import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { BASE, fetchWithEnv } from "./relay-client";

describe("/client.js", () => {
  it("is served as a cacheable JavaScript module any origin may import", async () => {
    const response = await SELF.fetch(`${BASE}/client.js`, { headers: { Origin: "https://anywhere.test" } });
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toBe("text/javascript; charset=utf-8");
    expect(response.headers.get("Access-Control-Allow-Origin")).toBe("*");
    expect(response.headers.get("Cache-Control")).toMatch(/public, max-age=\d+/);
    const source = await response.text();
    expect(source).toContain("export function subscribe(");
    expect(source).toContain('export const LOST_EVENT = "relay.lost"');
    expect(response.headers.get("X-TypeScript-Types")).toBe("/client.d.ts");
  });

  it("serves its TypeScript declarations at /client.d.ts", async () => {
    const response = await SELF.fetch(`${BASE}/client.d.ts`);
    expect(response.status).toBe(200);
    expect(response.headers.get("Access-Control-Allow-Origin")).toBe("*");
    expect(await response.text()).toContain("export function subscribe(options: SubscribeOptions): Subscription;");
  });
});

describe("the demo", () => {
  it("is not served unless DEMO_ENABLED (a deployment gets no token-less endpoint)", async () => {
    for (const [method, path] of [
      ["GET", "/demo"],
      ["GET", "/demo/state"],
      ["POST", "/demo/note"],
    ] as const) {
      const response = await SELF.fetch(`${BASE}${path}`, { method, body: method === "POST" ? '{"text":"x"}' : null });
      expect(response.status).toBe(404);
      expect(((await response.json()) as { error: string }).error).toBe("not_found");
    }
  });

  it("with DEMO_ENABLED serves the page, publishes edits to demo-note, and refuses bad ones", async () => {
    const on = { DEMO_ENABLED: "true" };
    const page = await fetchWithEnv(on, new Request(`${BASE}/demo`));
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('import { subscribe } from "/client.js"');

    const edit = await fetchWithEnv(
      on,
      new Request(`${BASE}/demo/note`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: '{"text":"hello"}',
      }),
    );
    expect(edit.status).toBe(201);
    const { id } = (await edit.json()) as { id: string };
    const state = (await (await fetchWithEnv(on, new Request(`${BASE}/demo/state`))).json()) as { lastEventId: string };
    expect(state.lastEventId).toBe(id);

    for (const body of ['{"text": 5}', "not json", JSON.stringify({ text: "x".repeat(4001) })]) {
      const refused = await fetchWithEnv(
        on,
        new Request(`${BASE}/demo/note`, { method: "POST", headers: { "Content-Type": "application/json" }, body }),
      );
      expect(refused.status).toBe(400);
    }
  });
});
