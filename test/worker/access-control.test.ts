import { SELF, env, runInDurableObject } from "cloudflare:test";
import { sign } from "hono/jwt";
import { describe, expect, it } from "vitest";
import { IdempotencyStore } from "../../src/channel/idempotency-store";
import { BASE, TOKEN, freshChannel, publish, publishData, stats, subscribe, fetchWithEnv } from "./relay-client";
import { eventually, readStream } from "./sse-reader";

const SUBSCRIBE_SECRET = "test-subscribe-secret-0123456789abcdef";
const PUBLISH_SECRET = "test-publish-secret-0123456789abcdef";
const inSeconds = (seconds: number) => Math.floor(Date.now() / 1000) + seconds;

function subscriberToken(
  channels: string[],
  exp = inSeconds(300),
  secret = SUBSCRIBE_SECRET,
  extra: Record<string, unknown> = {},
) {
  return sign({ scope: "subscribe", channels, exp, ...extra }, secret, "HS256");
}
function publisherToken(channels: string[], exp = inSeconds(300), secret = PUBLISH_SECRET) {
  return sign({ scope: "publish", channels, exp }, secret, "HS256");
}

async function errorOf(response: Response): Promise<{ status: number; error: string; message: string }> {
  const body = (await response.json()) as { error: string; message: string };
  return { status: response.status, ...body };
}

describe("private channels", () => {
  const url = (channel: string, query = "") => `${BASE}/v1/channels/${channel}/events${query}`;

  it("401 without a token, with a message that says how to send one", async () => {
    const result = await errorOf(await SELF.fetch(url(freshChannel("private"))));
    expect(result).toMatchObject({ status: 401, error: "unauthorized" });
    expect(result.message).toContain("sse_token");
  });

  it("accepts a token from Authorization, from the cookie, and from ?token=", async () => {
    const channel = freshChannel("private");
    const token = await subscriberToken([channel]);
    const ways: RequestInit[] = [
      { headers: { Authorization: `Bearer ${token}` } },
      { headers: { Cookie: `other=1; sse_token=${token}` } },
      {},
    ];
    for (const [index, init] of ways.entries()) {
      const response = await SELF.fetch(url(channel, index === 2 ? `?token=${token}` : ""), init);
      expect(response.status).toBe(200);
      await response.body?.cancel();
    }
  });

  it("a granted private stream receives events; patterns with * cover prefixes", async () => {
    const channel = freshChannel("private-team-7");
    const token = await subscriberToken(["private-team-7-*"]);
    const stream = await subscribe(channel, { headers: { Authorization: `Bearer ${token}` } });
    await publishData(channel, "for the team");
    expect((await stream.waitForEvents(1))[0]?.data).toBe("for the team");
    await stream.cancel();
  });

  it("403 for a channel the token does not grant", async () => {
    const token = await subscriberToken(["private-alice"]);
    const result = await errorOf(
      await SELF.fetch(url("private-bob"), { headers: { Authorization: `Bearer ${token}` } }),
    );
    expect(result).toMatchObject({ status: 403, error: "forbidden" });
  });

  it("401 for expired, forged, alg:none, wrong-scope and expiry-less tokens, never echoing the token", async () => {
    const channel = freshChannel("private");
    const header = (object: object) =>
      btoa(JSON.stringify(object)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
    const payload = { scope: "subscribe", channels: [channel], exp: inSeconds(300) };
    const cases: [string, string, string][] = [
      ["expired", await subscriberToken([channel], inSeconds(-10)), "token_expired"],
      [
        "wrong secret",
        await subscriberToken([channel], inSeconds(300), "another-secret-that-is-long-enough-0000"),
        "invalid_token",
      ],
      ["alg none", `${header({ alg: "none", typ: "JWT" })}.${header(payload)}.`, "invalid_token"],
      ["HS512 instead of HS256", await sign(payload, SUBSCRIBE_SECRET, "HS512"), "invalid_token"],
      ["publisher token", await publisherToken([channel], inSeconds(300), SUBSCRIBE_SECRET), "invalid_token"],
      ["no exp", await sign({ scope: "subscribe", channels: [channel] }, SUBSCRIBE_SECRET, "HS256"), "invalid_token"],
      [
        "channels not a list",
        await sign({ scope: "subscribe", channels: channel, exp: inSeconds(60) }, SUBSCRIBE_SECRET, "HS256"),
        "invalid_token",
      ],
      ["garbage", "not.a.jwt", "invalid_token"],
      [
        "tampered payload",
        (await subscriberToken(["private-other"])).replace(/^([^.]+)\.[^.]+/, `$1.${header(payload)}`),
        "invalid_token",
      ],
    ];
    for (const [name, token, code] of cases) {
      const result = await errorOf(await SELF.fetch(url(channel), { headers: { Authorization: `Bearer ${token}` } }));
      expect({ name, status: result.status, error: result.error }).toEqual({ name, status: 401, error: code });
      expect(result.message).not.toContain(token);
      const payloadPart = token.split(".")[1] ?? "";
      if (payloadPart.length > 8) expect(result.message).not.toContain(payloadPart);
    }
  });

  it("closes the stream cleanly when the token expires, and not before", async () => {
    const channel = freshChannel("private");
    // A token that expires shortly; should the machine be too slow to open the stream before
    // that, the relay refuses it as expired and the test tries again with a later expiry.
    let window = 2;
    for (;;) {
      const exp = inSeconds(window);
      const token = await subscriberToken([channel], exp);
      const response = await SELF.fetch(url(channel), { headers: { Authorization: `Bearer ${token}` } });
      if (response.status !== 200) {
        expect(await errorOf(response)).toMatchObject({ status: 401, error: "token_expired" });
        window *= 2;
        continue;
      }
      const reader = readStream(response);
      // The close is the event waited for (the vitest timeout is the guard): a clean end, as the
      // browser's EventSource then reconnects with a fresh token, not an error.
      expect(await reader.ended).toBe("closed");
      expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000);
      break;
    }
    await eventually(async () => (await stats(channel)).subscribers === 0);
    expect((await stats(channel)).closedStreams).toEqual({ overflow: 0, stalled: 0, expired: 1 });
  });

  it("answers 503 for private channels when no SUBSCRIBE_JWT_SECRET is configured (fails closed)", async () => {
    const result = await errorOf(await fetchWithEnv({ SUBSCRIBE_JWT_SECRET: "" }, new Request(url("private-x"))));
    expect(result).toMatchObject({ status: 503, error: "private_channels_disabled" });
  });

  it("a * in a grant must follow a delimiter: private-user-4* does not open private-user-42", async () => {
    const loose = await subscriberToken(["private-user-4*"]);
    const refused = await errorOf(
      await SELF.fetch(url("private-user-42"), { headers: { Authorization: `Bearer ${loose}` } }),
    );
    expect(refused).toMatchObject({ status: 401, error: "invalid_token" });
    expect(refused.message).toMatch(/delimiter/);
    const strict = await subscriberToken(["private-user-4-*", "private-user-5"]);
    const headers = { Authorization: `Bearer ${strict}` };
    const covered = await SELF.fetch(url("private-user-4-tab1"), { headers });
    expect(covered.status).toBe(200);
    await covered.body?.cancel();
    for (const other of ["private-user-42", "private-user-4", "private-user-50"]) {
      expect((await errorOf(await SELF.fetch(url(other), { headers }))).status, other).toBe(403);
    }
    // Publisher grants follow the same rule.
    const publisher = await publisherToken(["orders*"]);
    expect((await publish("orders-1", { data: "x" }, { token: publisher })).status).toBe(401);
  });

  it("private prefixes match whatever the case: Private-… and PRIVATE-… are private too", async () => {
    for (const channel of [freshChannel("Private"), freshChannel("PRIVATE"), freshChannel("pRiVaTe")]) {
      const result = await errorOf(await SELF.fetch(url(channel)));
      expect({ channel, status: result.status }).toEqual({ channel, status: 401 });
    }
    const channel = freshChannel("Private");
    const token = await subscriberToken([channel]);
    const response = await SELF.fetch(url(channel, `?token=${token}`));
    expect(response.status).toBe(200);
    await response.body?.cancel();
  });

  it("a bad Authorization header wins over a good cookie or ?token=, and the 401 names the header", async () => {
    const channel = freshChannel("private");
    const good = await subscriberToken([channel]);
    for (const authorization of ["Bearer stale.token.value", "Basic dXNlcjpwYXNz", "Bearer"]) {
      for (const init of [
        { query: "", headers: { Authorization: authorization, Cookie: `sse_token=${good}` } },
        { query: `?token=${good}`, headers: { Authorization: authorization } },
      ]) {
        const result = await errorOf(await SELF.fetch(url(channel, init.query), { headers: init.headers }));
        expect({ authorization, status: result.status }).toEqual({ authorization, status: 401 });
        expect(result.message).toContain("Authorization header");
        expect(result.message).not.toContain(good);
      }
    }
    // A refused cookie is named as the cookie.
    const expired = await subscriberToken([channel], inSeconds(-10));
    const result = await errorOf(await SELF.fetch(url(channel), { headers: { Cookie: `sse_token=${expired}` } }));
    expect(result).toMatchObject({ status: 401, error: "token_expired" });
    expect(result.message).toContain("cookie sse_token");
  });

  it("a cookie-authorized stream from another site is refused (403) before it counts; explicit tokens are not", async () => {
    const channel = freshChannel("private");
    const token = await subscriberToken([channel]);
    const cookie = { Cookie: `sse_token=${token}` };
    const crossSite: Record<string, string>[] = [
      { ...cookie, Origin: "https://evil.example.net" },
      // An <img> or <script> pointed at the stream: no Origin, but the browser says where it comes from.
      { ...cookie, "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors" },
    ];
    // More than MAX_STREAMS_PER_CLIENT (3 in tests): none of them takes the visitor's share.
    for (let round = 0; round < 2; round++) {
      for (const headers of crossSite) {
        const result = await errorOf(await SELF.fetch(url(channel), { headers }));
        expect(result).toMatchObject({ status: 403, error: "cross_site" });
        expect(result.message).not.toContain(token);
      }
    }
    expect((await stats(channel)).subscribers).toBe(0);
    const allowed: Record<string, string>[] = [
      { ...cookie, Origin: "https://app.example.com" }, // ALLOWED_ORIGINS
      { ...cookie, Origin: "https://x.example.org" }, // https://*.example.org
      { ...cookie, Origin: BASE }, // the relay's own origin
      { ...cookie, "Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "no-cors" },
      { ...cookie, "Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "cors" },
      { Authorization: `Bearer ${token}`, Origin: "https://evil.example.net" }, // not ambient: sent on purpose
    ];
    for (const headers of allowed) {
      const response = await SELF.fetch(url(channel), { headers });
      expect(response.status, JSON.stringify(headers)).toBe(200);
      await response.body?.cancel();
    }
  });

  it("public channels ignore tokens entirely", async () => {
    const response = await SELF.fetch(url(freshChannel("public")), { headers: { Authorization: "Bearer garbage" } });
    expect(response.status).toBe(200);
    await response.body?.cancel();
  });
});

describe("scoped publisher tokens", () => {
  it("publish to granted channels, 403 elsewhere, nothing stored on refusal", async () => {
    const token = await publisherToken(["orders-*"]);
    const allowed = freshChannel("orders");
    expect((await publish(allowed, { data: "ok" }, { token })).status).toBe(201);
    const other = freshChannel("billing");
    const refused = await errorOf(await publish(other, { data: "no" }, { token }));
    expect(refused).toMatchObject({ status: 403, error: "forbidden" });
    expect((await stats(other)).lastEventId).toBeNull();
  });

  it("a batch must be covered whole: one foreign channel refuses all of it", async () => {
    const token = await publisherToken(["orders-*"]);
    const mine = freshChannel("orders");
    const response = await SELF.fetch(`${BASE}/v1/events`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify({
        events: [
          { channel: mine, data: "a" },
          { channel: "billing-1", data: "b" },
        ],
      }),
    });
    expect((await errorOf(response)).status).toBe(403);
    expect((await stats(mine)).lastEventId).toBeNull();
  });

  it("401 for an expired publisher token, a subscriber token, or one signed with the wrong secret", async () => {
    const channel = freshChannel("orders");
    for (const token of [
      await publisherToken([channel], inSeconds(-5)),
      await subscriberToken([channel], inSeconds(300), PUBLISH_SECRET),
      await publisherToken([channel], inSeconds(300), SUBSCRIBE_SECRET),
    ]) {
      expect((await errorOf(await publish(channel, { data: "x" }, { token }))).status).toBe(401);
    }
    expect((await stats(channel)).lastEventId).toBeNull();
  });

  it("may read stats of its own channels only", async () => {
    const token = await publisherToken(["orders-*"]);
    const mine = await SELF.fetch(`${BASE}/v1/channels/orders-1`, { headers: { Authorization: `Bearer ${token}` } });
    expect(mine.status).toBe(200);
    const other = await SELF.fetch(`${BASE}/v1/channels/billing-1`, { headers: { Authorization: `Bearer ${token}` } });
    expect(other.status).toBe(403);
  });
});

describe("idempotent publishing", () => {
  it("a retried publish with the same Idempotency-Key gets the same id and is delivered once", async () => {
    const channel = freshChannel();
    const stream = await subscribe(channel);
    const send = () => publish(channel, { data: "charge #1" }, { headers: { "Idempotency-Key": "order-1-charge" } });
    const first = await send();
    const retry = await send();
    expect(first.status).toBe(201);
    expect(retry.status).toBe(201);
    expect(retry.headers.get("Idempotent-Replayed")).toBe("true");
    expect(await retry.json()).toEqual(await first.json());
    await publishData(channel, "next");
    const events = await stream.waitForEvents(2);
    expect(events.map((event) => event.data)).toEqual(["charge #1", "next"]);
    expect((await stats(channel)).lastEventId).toBe("2");
    await stream.cancel();
  });

  it("422 when a key is reused for different events; 400 for a malformed key", async () => {
    const channel = freshChannel();
    await publish(channel, { data: "a" }, { headers: { "Idempotency-Key": "k1" } });
    expect(
      await errorOf(await publish(channel, { data: "b" }, { headers: { "Idempotency-Key": "k1" } })),
    ).toMatchObject({
      status: 422,
      error: "idempotency_key_reused",
    });
    expect(
      await errorOf(await publish(channel, { data: "c" }, { headers: { "Idempotency-Key": "has space" } })),
    ).toMatchObject({
      status: 400,
      error: "invalid_idempotency_key",
    });
    expect((await stats(channel)).lastEventId).toBe("1");
  });

  it("a retried batch returns the same ids and stores nothing new", async () => {
    const a = freshChannel("a");
    const b = freshChannel("b");
    const send = () =>
      SELF.fetch(`${BASE}/v1/events`, {
        method: "POST",
        headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json", "Idempotency-Key": "batch-7" },
        body: JSON.stringify({
          events: [
            { channel: a, data: "1" },
            { channel: b, data: "2" },
            { channel: a, data: "3" },
          ],
        }),
      });
    const first = (await (await send()).json()) as { ids: string[] };
    const again = await send();
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(await again.json()).toEqual(first);
    expect((await stats(a)).lastEventId).toBe("2");
    expect((await stats(b)).lastEventId).toBe("1");
  });

  const batch = (key: string, events: { channel: string; data: string }[]) =>
    SELF.fetch(`${BASE}/v1/events`, {
      method: "POST",
      headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json", "Idempotency-Key": key },
      body: JSON.stringify({ events }),
    });

  it("a batch whose key conflicts on one channel is refused (422) and stores nothing on any", async () => {
    const a = freshChannel("a");
    const b = freshChannel("b");
    const key = `key-${a}`;
    // The key was used on channel b for something else.
    expect((await publish(b, { data: "earlier" }, { headers: { "Idempotency-Key": key } })).status).toBe(201);
    const events = [
      { channel: a, data: "for a" },
      { channel: b, data: "for b" },
    ];
    expect(await errorOf(await batch(key, events))).toMatchObject({ status: 422, error: "idempotency_key_reused" });
    expect(await stats(a)).toMatchObject({ lastEventId: null, eventsRetained: 0 });
    expect(await stats(b)).toMatchObject({ lastEventId: "1", eventsRetained: 1 });
    // Retried with a new key, as a client would: each event is stored once.
    const retry = await batch(`${key}-2`, events);
    expect(retry.status).toBe(201);
    expect(await retry.json()).toEqual({ ids: ["1", "2"] });
    expect(await stats(a)).toMatchObject({ lastEventId: "1", eventsRetained: 1 });
    // The refused batch left no reservation behind on a: the key is still free there.
    expect((await publish(a, { data: "x" }, { headers: { "Idempotency-Key": key } })).status).toBe(201);
  });

  it("a key covers the whole batch: the same key with fewer or other channels is refused, nothing stored", async () => {
    const a = freshChannel("a");
    const b = freshChannel("b");
    const key = `whole-${a}`;
    const full = [
      { channel: a, data: "1" },
      { channel: b, data: "2" },
    ];
    expect((await batch(key, full)).status).toBe(201);
    for (const other of [[full[0]!], [...full, { channel: freshChannel("c"), data: "3" }]]) {
      expect((await errorOf(await batch(key, other))).status).toBe(422);
    }
    expect((await batch(key, [...full].reverse())).status).toBe(201); // same events per channel: a retry
    expect([(await stats(a)).lastEventId, (await stats(b)).lastEventId]).toEqual(["1", "1"]);
  });

  it("concurrent batches reusing one key for different events: at most one is stored, refusals store nothing", async () => {
    const a = freshChannel("a");
    const b = freshChannel("b");
    const key = `race-${a}`;
    const contenders = Array.from({ length: 6 }, (_, i) => [
      { channel: a, data: `a${i}` },
      { channel: b, data: `b${i}` },
    ]);
    const responses = await Promise.all(contenders.map((events) => batch(key, events)));
    const winners = contenders.filter((_, i) => responses[i]!.status === 201);
    for (const response of responses) expect([201, 422]).toContain(response.status);
    expect(winners.length).toBeLessThanOrEqual(1);
    for (const channel of [a, b]) {
      const stored = (await stats(channel)).eventsRetained;
      expect({ channel, stored }).toEqual({ channel, stored: winners.length });
    }
  });
});

describe("idempotency keys expire", () => {
  it("keys past IDEMPOTENCY_TTL_SECONDS are deleted when the channel object opens its store, not only by a keyed publish", async () => {
    const stub = env.CHANNELS.get(env.CHANNELS.idFromName(freshChannel("ttl")));
    await runInDurableObject(stub, (_instance, state) => {
      const ttlMs = 60_000;
      const store = new IdempotencyStore(state.storage.sql, ttlMs);
      const now = Date.now();
      store.remember("old", "f", ["1"], now - 2 * ttlMs);
      state.storage.sql.exec("INSERT INTO idempotency_keys VALUES ('fresh', 'f', '[\"2\"]', ?)", now);
      const count = () => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM idempotency_keys").one().n;
      expect(count()).toBe(2);
      // The object starting again (any request after an eviction) opens the store.
      const reopened = new IdempotencyStore(state.storage.sql, ttlMs);
      expect(count()).toBe(1);
      expect(reopened.lookup("fresh")).toEqual({ fingerprint: "f", ids: ["2"] });
    });
  });
});

describe("limits", () => {
  it("503 with Retry-After past MAX_SUBSCRIBERS_PER_CHANNEL (8 in tests)", async () => {
    const channel = freshChannel();
    // One at a time, so the first is held by the channel object itself in hibernating mode: a fan-out
    // object's leaver frees its place only when the channel next hears from it (a push or its last leave).
    const streams: Awaited<ReturnType<typeof subscribe>>[] = [];
    for (let n = 0; n < 8; n++) streams.push(await subscribe(channel));
    const refused = await SELF.fetch(`${BASE}/v1/channels/${channel}/events`);
    expect(refused.headers.get("Retry-After")).toBe("5");
    expect(await errorOf(refused)).toMatchObject({ status: 503, error: "channel_full" });
    await streams[0]!.cancel();
    await eventually(async () => (await stats(channel)).subscribers === 7);
    const admitted = await SELF.fetch(`${BASE}/v1/channels/${channel}/events`);
    expect(admitted.status).toBe(200);
    await admitted.body?.cancel();
    await Promise.all(streams.slice(1).map((stream) => stream.cancel()));
  });

  it("refuses channel names over MAX_CHANNEL_NAME_LENGTH", async () => {
    const response = await fetchWithEnv(
      { MAX_CHANNEL_NAME_LENGTH: "10" },
      new Request(`${BASE}/v1/channels/${"c".repeat(11)}/events`),
    );
    expect(await errorOf(response)).toMatchObject({ status: 400, error: "invalid_channel" });
  });

  it("with RELAY_HOSTS, serves exactly those hosts and the shard hosts of its pattern (421 otherwise)", async () => {
    const on = { RELAY_HOSTS: "sse.example.com,sse{n}.example.com", SHARDS: "4" };
    for (const host of ["sse.example.com", "sse0.example.com", "sse3.example.com", "SSE2.EXAMPLE.COM"]) {
      expect((await fetchWithEnv(on, new Request(`https://${host}/healthz`))).status).toBe(200);
    }
    for (const host of [
      "evil.com",
      "sse.example.com.evil.com",
      "example.com",
      "xsse.example.com",
      "sse4.example.com", // past SHARDS
      "sse03.example.com",
      "ssen.example.com",
      "s0.sse.example.com", // a subdomain of a listed host is not listed
    ]) {
      expect(await errorOf(await fetchWithEnv(on, new Request(`https://${host}/healthz`)))).toMatchObject({
        status: 421,
        error: "misdirected_request",
      });
    }
  });
});
