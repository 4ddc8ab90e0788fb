import { describe, expect, it } from "vitest";
import { fetchWithEnv } from "./relay-client";

const restart = (host: string) => new Request(`http://${host}/__test/channels/hooked/restart`, { method: "POST" });

describe("test hooks", () => {
  it("exist only with RELAY_TEST_HOOKS=true and only for loopback hosts", async () => {
    expect((await fetchWithEnv({}, restart("localhost:8787"))).status).toBe(404);
    expect((await fetchWithEnv({ RELAY_TEST_HOOKS: "true" }, restart("sse.example.com"))).status).toBe(404);
    expect((await fetchWithEnv({ RELAY_TEST_HOOKS: "true" }, restart("localhost.example.com"))).status).toBe(404);
    expect((await fetchWithEnv({ RELAY_TEST_HOOKS: "true" }, restart("127.0.0.1:8787"))).status).toBe(200);
    expect((await fetchWithEnv({ RELAY_TEST_HOOKS: "true" }, restart("s3.localhost:8787"))).status).toBe(200);
  });
});
