/**
 * Structured logs: a request id on every response and every log line of the
 * request, the channel on lines about a channel, and no secret in any line.
 */
import { SELF, env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createApp } from "../../src/routes/app";
import { formatLogLine } from "../../src/log";
import { freshChannel } from "./relay-client";

afterEach(() => vi.restoreAllMocks());

describe("request ids", () => {
  it("every response carries one, and two requests get different ids", async () => {
    const first = await SELF.fetch("https://relay.test/healthz");
    const second = await SELF.fetch("https://relay.test/no-such-path");
    await Promise.all([first.arrayBuffer(), second.arrayBuffer()]);
    expect(first.headers.get("X-Request-Id")).toMatch(/^[\w-]+$/);
    expect(second.headers.get("X-Request-Id")).toMatch(/^[\w-]+$/);
    expect(first.headers.get("X-Request-Id")).not.toBe(second.headers.get("X-Request-Id"));
  });

  it("a well-formed X-Request-Id from the caller is kept; a malformed one is replaced", async () => {
    const kept = await SELF.fetch("https://relay.test/healthz", { headers: { "X-Request-Id": "backend-42" } });
    const replaced = await SELF.fetch("https://relay.test/healthz", { headers: { "X-Request-Id": 'a b"<c>' } });
    await Promise.all([kept.arrayBuffer(), replaced.arrayBuffer()]);
    expect(kept.headers.get("X-Request-Id")).toBe("backend-42");
    expect(replaced.headers.get("X-Request-Id")).toMatch(/^[\w-]+$/);
  });

  it("an unhandled error is logged once as JSON with the request id and the channel, and answers a plain 500", async () => {
    const lines: string[] = [];
    vi.spyOn(console, "error").mockImplementation((line: string) => void lines.push(line));
    const channel = freshChannel("logs");
    const broken = {
      ...env,
      CHANNELS: {
        idFromName: () => {
          throw new Error("storage exploded");
        },
      },
    };
    const response = await createApp().request(
      `https://relay.test/v1/channels/${channel}/events`,
      {
        method: "POST",
        headers: {
          Authorization: "Bearer test-token",
          "Content-Type": "application/json",
          "X-Request-Id": "req-123",
        },
        body: JSON.stringify({ data: "x" }),
      },
      broken,
    );
    expect(response.status).toBe(500);
    const body = await response.text();
    expect(body).not.toContain("storage exploded");
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!);
    expect(line).toMatchObject({ level: "error", msg: "unhandled error", requestId: "req-123", channel });
    expect(line.error.message).toBe("storage exploded");
    expect(lines[0]).not.toContain("test-token");
  });
});

describe("log lines", () => {
  it("are one JSON object with level and msg first; secret-named fields are redacted; errors keep their stack", () => {
    const error = new TypeError("boom");
    const line = JSON.parse(
      formatLogLine("warn", "publish refused", {
        channel: "orders",
        requestId: "r1",
        token: "sk-live-123",
        authorization: "Bearer abc",
        upstashToken: "u-1",
        error,
        skipped: undefined,
      }),
    );
    expect(Object.keys(line).slice(0, 2)).toEqual(["level", "msg"]);
    expect(line).toMatchObject({ level: "warn", msg: "publish refused", channel: "orders", requestId: "r1" });
    expect(line.token).toBe("[redacted]");
    expect(line.authorization).toBe("[redacted]");
    expect(line.upstashToken).toBe("[redacted]");
    expect(line.error).toMatchObject({ name: "TypeError", message: "boom" });
    expect(line.error.stack).toContain("boom");
    expect("skipped" in line).toBe(false);
  });
});
