/**
 * No single client can fill a channel and lock everyone else out: each
 * gets at most MAX_STREAMS_PER_CLIENT streams (3 in tests), counted by
 * token subject on private channels, else by address (IPv6 by /64).
 * Runs in both delivery modes.
 */
import { SELF } from "cloudflare:test";
import { sign } from "hono/jwt";
import { describe, expect, it } from "vitest";
import { BASE, freshChannel, subscribe } from "./relay-client";
import { eventually } from "./sse-reader";

const SUBSCRIBE_SECRET = "test-subscribe-secret-0123456789abcdef";

function open(channel: string, headers: Record<string, string>): Promise<Response> {
  return SELF.fetch(`${BASE}/v1/channels/${channel}/events`, { headers });
}

async function token(subject: string, channel: string): Promise<string> {
  const exp = Math.floor(Date.now() / 1000) + 600;
  return sign({ sub: subject, scope: "subscribe", channels: [channel], exp }, SUBSCRIBE_SECRET, "HS256");
}

describe("a client's share of a channel", () => {
  it("by address: the fourth stream from one address is refused with 429; other addresses still get in; a freed slot is reused", async () => {
    const channel = freshChannel();
    const mine = await Promise.all(
      [1, 2, 3].map(() => subscribe(channel, { headers: { "CF-Connecting-IP": "203.0.113.7" } })),
    );
    const refused = await open(channel, { "CF-Connecting-IP": "203.0.113.7" });
    expect(refused.status).toBe(429);
    expect(refused.headers.get("Retry-After")).toBe("5");
    expect(await refused.json()).toMatchObject({ error: "too_many_streams" });
    const other = await subscribe(channel, { headers: { "CF-Connecting-IP": "198.51.100.1" } });
    await mine[0]!.cancel();
    await eventually(async () => {
      const retry = await open(channel, { "CF-Connecting-IP": "203.0.113.7" });
      if (retry.status !== 200) {
        await retry.body?.cancel();
        return false;
      }
      await retry.body?.cancel();
      return true;
    });
    await Promise.all([...mine.slice(1), other].map((stream) => stream.cancel()));
  });

  it("IPv6 addresses count by their /64", async () => {
    const channel = freshChannel();
    const streams = await Promise.all(
      ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:0db8:0001:0002:aaaa::3"].map((address) =>
        subscribe(channel, { headers: { "CF-Connecting-IP": address } }),
      ),
    );
    expect((await open(channel, { "CF-Connecting-IP": "2001:db8:1:2:ffff::9" })).status).toBe(429);
    const otherNetwork = await subscribe(channel, { headers: { "CF-Connecting-IP": "2001:db8:1:3::1" } });
    await Promise.all([...streams, otherNetwork].map((stream) => stream.cancel()));
  });

  it("on a private channel, by the token's subject, from any address", async () => {
    const channel = freshChannel("private");
    const alice = await token("alice", channel);
    const streams = await Promise.all(
      ["192.0.2.1", "192.0.2.2", "192.0.2.3"].map((address) =>
        subscribe(channel, { headers: { "CF-Connecting-IP": address, Authorization: `Bearer ${alice}` } }),
      ),
    );
    const refused = await open(channel, { "CF-Connecting-IP": "192.0.2.4", Authorization: `Bearer ${alice}` });
    expect(refused.status).toBe(429);
    const bob = await subscribe(channel, {
      headers: { "CF-Connecting-IP": "192.0.2.1", Authorization: `Bearer ${await token("bob", channel)}` },
    });
    await Promise.all([...streams, bob].map((stream) => stream.cancel()));
  });
});
