/**
 * Local development tools: `npm run dev`'s settings (your .dev.vars wins over
 * the defaults) and `npm run token` (its tokens work against a real relay
 * started with the same secrets, and only for the channels they name).
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEV_DEFAULTS, devVarFlags, localVars, parseDotenv, readDevVars } from "../../scripts/dev-vars.ts";
import { listen, publishTo, until } from "../support/sse-client";
import { startRelay, type RelayProcess } from "../support/wrangler-dev";

const TOKEN_SCRIPT = resolve(import.meta.dirname, "../../scripts/token.ts");

describe("npm run dev settings", () => {
  it("parses .dev.vars lines: comments, export, quotes", () => {
    expect(
      parseDotenv("# c\nPUBLISH_TOKENS=\"a,b\"\nexport DEMO_ENABLED=false # off\n\nX='q # not a comment'\nbad line\n"),
    ).toEqual({ PUBLISH_TOKENS: "a,b", DEMO_ENABLED: "false", X: "q # not a comment" });
  });

  it("passes a --var only for settings the user's .dev.vars does not set, so the user's values win", () => {
    const dir = mkdtempSync(join(tmpdir(), "dev-vars-"));
    try {
      expect(readDevVars(dir)).toEqual({});
      writeFileSync(join(dir, ".dev.vars"), "PUBLISH_TOKENS=mine\n");
      const user = readDevVars(dir);
      const flags = devVarFlags(user);
      expect(flags.filter((flag) => flag.startsWith("PUBLISH_TOKENS"))).toEqual([]);
      expect(flags).toContain(`ALLOWED_ORIGINS:${DEV_DEFAULTS.ALLOWED_ORIGINS}`);
      expect(localVars(user).PUBLISH_TOKENS).toBe("mine");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("npm run token", () => {
  const secrets = {
    SUBSCRIBE_JWT_SECRET: "tool-subscribe-secret-0123456789abcdef",
    PUBLISH_JWT_SECRET: "tool-publish-secret-0123456789abcdef",
    MERCURE_PUBLISHER_JWT_KEY: "tool-mercure-publisher-key-0123456789abcdef",
    MERCURE_PUBLISHER_JWT_ISSUER: "https://tool.example.com",
    MERCURE_RESOURCE: "https://hub.example.com/.well-known/mercure",
  };
  let relay: RelayProcess;

  beforeAll(async () => {
    relay = await startRelay(secrets);
  });
  afterAll(async () => {
    await relay?.dispose();
  });

  const mint = (...args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolveRun) => {
      execFile(
        process.execPath,
        [TOKEN_SCRIPT, ...args],
        { env: { ...process.env, ...secrets } },
        (error, stdout, stderr) => resolveRun({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
      );
    });

  it("a scoped publisher token publishes to its channels only", async () => {
    const { code, stdout, stderr } = await mint("publish", "tool-orders-*", "--ttl", "600");
    expect(code, stderr).toBe(0);
    const token = stdout.trim();
    expect(stderr).not.toContain(secrets.PUBLISH_JWT_SECRET);
    const post = (channel: string) =>
      fetch(`${relay.url}/v1/channels/${channel}/events`, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: JSON.stringify({ data: "x" }),
      });
    const allowed = await post("tool-orders-1");
    expect(allowed.status, await allowed.text()).toBe(201);
    const refused = await post("tool-other");
    expect(refused.status, await refused.text()).toBe(403);
  });

  it("a subscriber token reads its private channel", async () => {
    const channel = `private-tool-${Math.random().toString(36).slice(2, 8)}`;
    const { code, stdout } = await mint("subscribe", channel);
    expect(code).toBe(0);
    const listener = listen(relay.url, channel, ["message"], {
      fetch: (input, init) =>
        fetch(input, { ...init, headers: { ...init?.headers, Authorization: `Bearer ${stdout.trim()}` } }),
    });
    try {
      await listener.opened;
      await publishTo(relay.url, channel, { data: "for the token holder" });
      await until(
        () => listener.received.length === 1,
        () => JSON.stringify(listener.received),
      );
      expect(listener.received[0]!.data).toBe("for the token holder");
    } finally {
      listener.close();
    }
  });

  it("a Mercure publisher token publishes its topics to the hub, and only those", async () => {
    const topic = `https://example.com/tool/${Math.random().toString(36).slice(2, 8)}`;
    const { code, stdout, stderr } = await mint("mercure-publish", topic);
    expect(code, stderr).toBe(0);
    expect(stderr).not.toContain(secrets.MERCURE_PUBLISHER_JWT_KEY);
    const post = (to: string) =>
      fetch(`${relay.url}/.well-known/mercure`, {
        method: "POST",
        headers: { Authorization: `Bearer ${stdout.trim()}`, "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ topic: to, data: "x" }),
      });
    const allowed = await post(topic);
    expect(allowed.status, await allowed.text()).toBe(200);
    const refused = await post(`${topic}-other`);
    expect(refused.status, await refused.text()).toBe(403);
  });

  it("refuses a bad invocation with its usage and exit code 2", async () => {
    const { code, stdout, stderr } = await mint("admin", "x");
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toContain("usage: npm run token");
  });
});
