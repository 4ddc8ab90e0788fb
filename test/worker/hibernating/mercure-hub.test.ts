/**
 * The Mercure hub (draft-08 by default, the pre-standard protocol through
 * fetchWithEnv): publish over HTTP, subscribe with matchers, private
 * updates, resumption in hub order, and every refusal the draft requires.
 * Absence is proven with a later marker update, never by waiting.
 */
import { SELF, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { restart } from "../restart";
import { positionMarks } from "../../../src/mercure/cursor";
import { draftToken, legacyToken } from "../../support/mercure-token";
import { BASE, fetchWithEnv } from "../relay-client";
import { GUARD_MS, readStream, type StreamReader } from "../sse-reader";

const HUB = `${BASE}/.well-known/mercure`;
const PUBLISHER_KEY = env.MERCURE_PUBLISHER_JWT_KEY as string;
const SUBSCRIBER_KEY = env.MERCURE_SUBSCRIBER_JWT_KEY as string;
/** The pre-standard protocol, as a Symfony app runs it: its tokens carry no iss, so no key issuer. */
const LEGACY = { MERCURE_PROTOCOL: "legacy", MERCURE_PUBLISHER_JWT_ISSUER: "" };

let counter = 0;
/** A topic no other test uses (the hub is one log shared by the whole file). */
function topic(path = "books"): string {
  counter += 1;
  return `https://example.com/${path}/${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

async function publisherToken(topics = [{ match: "*" }]): Promise<string> {
  return draftToken(PUBLISHER_KEY, HUB, ["publish"], topics);
}

async function publishUpdate(
  fields: Record<string, string | string[]>,
  options: {
    token?: string | null;
    headers?: Record<string, string>;
    via?: (request: Request) => Promise<Response>;
  } = {},
): Promise<Response> {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) {
    for (const item of Array.isArray(value) ? value : [value]) body.append(name, item);
  }
  const token = options.token === undefined ? await publisherToken() : options.token;
  const request = new Request(HUB, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-www-form-urlencoded",
      ...(token === null ? {} : { Authorization: `Bearer ${token}` }),
      ...options.headers,
    },
    body,
  });
  return (options.via ?? ((r: Request) => SELF.fetch(r)))(request);
}

async function published(fields: Record<string, string | string[]>): Promise<string> {
  const response = await publishUpdate(fields);
  const text = await response.text();
  if (response.status !== 200) throw new Error(`publish failed: ${response.status} ${text}`);
  expect(response.headers.get("Content-Type")).toMatch(/^text\/plain/);
  return text;
}

async function subscribeHub(
  query: [string, string][],
  options: { headers?: Record<string, string>; via?: (request: Request) => Promise<Response> } = {},
): Promise<StreamReader & { response: Response }> {
  const url = new URL(HUB);
  for (const [name, value] of query) url.searchParams.append(name, value);
  const request = new Request(url, { headers: options.headers ?? {} });
  const response = await (options.via ?? ((r: Request) => SELF.fetch(r)))(request);
  if (response.status !== 200) throw new Error(`subscribe failed: ${response.status} ${await response.text()}`);
  const reader = readStream(response);
  await reader.waitForComment((comment) => comment.trim() === "connected");
  return Object.assign(reader, { response });
}

/**
 * A subscription's frames as they come, id-only marks included, comments left out (a browser's
 * EventSource would keep each id), until `done` holds of them; then the stream is cancelled.
 */
async function framesUntil(
  query: [string, string][],
  headers: Record<string, string>,
  done: (frames: string[]) => boolean,
): Promise<{ frames: string[]; response: Response }> {
  const url = new URL(HUB);
  for (const [name, value] of query) url.searchParams.append(name, value);
  const response = await SELF.fetch(url, { headers });
  expect(response.status).toBe(200);
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const frames: string[] = [];
  let buffered = "";
  const guard = setTimeout(() => void reader.cancel().catch(() => {}), GUARD_MS);
  try {
    while (!done(frames)) {
      const { done: ended, value } = await reader.read();
      if (ended) throw new Error(`stream ended first: ${JSON.stringify(frames)}`);
      buffered += value;
      const blocks = buffered.split("\n\n");
      buffered = blocks.pop()!;
      for (const block of blocks) {
        const fields = block
          .split("\n")
          .filter((line) => !line.startsWith(":"))
          .join("\n");
        if (fields !== "") frames.push(fields);
      }
    }
  } finally {
    clearTimeout(guard);
    await reader.cancel().catch(() => {});
  }
  return { frames, response };
}

const idOnly = (frame: string) => /^id: [^\n]*$/.test(frame);

/** The mark a new subscription's stream starts with. */
async function openingMark(query: [string, string][], headers: Record<string, string> = {}): Promise<string> {
  const { frames } = await framesUntil(query, headers, (seen) => seen.some(idOnly));
  return frames.find(idOnly)!.slice("id: ".length);
}

/** The hub's sequencing object, and the number of its last update. */
const hubObject = () => env.CHANNELS.get(env.CHANNELS.idFromName("~mercure"));
const hubCounter = async () => (await hubObject().locate("urn:nothing")).last;

describe("Mercure hub, draft-08", () => {
  it("publishes a form-encoded update and answers 200 text/plain with its generated urn:uuid id", async () => {
    const t = topic();
    const sub = await subscribeHub([["match", t]]);
    const id = await published({ topic: t, data: "hello" });
    expect(id).toMatch(/^urn:uuid:[0-9a-f-]{36}$/);
    const [event] = await sub.waitForEvents(1);
    expect(event).toMatchObject({ id, data: "hello" });
    await sub.cancel();
  });

  it("bounds the frame subscribers receive, not only the stored update: many short lines are a 413", async () => {
    const t = topic();
    // 4,000 bytes of data (MAX_EVENT_BYTES is 8192 here), but 4,000 lines: a 28 KB frame on the stream.
    const response = await publishUpdate({ topic: t, data: "\n".repeat(4_000) });
    expect(response.status).toBe(413);
    // Under twice MAX_EVENT_BYTES once framed: accepted.
    expect(await published({ topic: t, data: "\n".repeat(2_000) })).toMatch(/^urn:uuid:/);
  });

  it("keeps the publisher's id, type and multi-line data; selects only matching topics", async () => {
    const mine = topic();
    const other = topic();
    const sub = await subscribeHub([["match", mine]]);
    await published({ topic: other, data: "not for you" });
    await published({ topic: mine, data: "line 1\nline 2", id: "urn:example:rev-7", type: "book-updated" });
    const [event] = await sub.waitForEvents(1);
    expect(event).toMatchObject({ id: "urn:example:rev-7", event: "book-updated", data: "line 1\nline 2" });
    await sub.cancel();
  });

  it("a URL pattern selects topics nobody used before; * selects every topic", async () => {
    const base = `https://example.com/shelf-${Math.random().toString(36).slice(2, 8)}`;
    const pattern = await subscribeHub([["match_urlpattern", `${base}/:id`]]);
    const everything = await subscribeHub([["match", "*"]]);
    await published({ topic: `${base}/a/b`, data: "deeper: no match" });
    await published({ topic: `${base}/42`, data: "match" });
    const [event] = await pattern.waitForEvents(1);
    expect(event?.data).toBe("match");
    const all = await everything.waitForEvents(2);
    expect(all.map((e) => e.data)).toEqual(["deeper: no match", "match"]);
    await pattern.cancel();
    await everything.cancel();
  });

  it("URL patterns with an optional group and a regular expression group select as URLPattern would", async () => {
    const base = `https://example.com/opt-${Math.random().toString(36).slice(2, 8)}`;
    const sub = await subscribeHub([
      ["match_urlpattern", `${base}/books{/:id}?`],
      ["match_urlpattern", `${base}/years/:y(\\d{4})`],
    ]);
    for (const path of ["books", "books/1", "books/1/2", "years/2024", "years/24", "years/2024x"]) {
      await published({ topic: `${base}/${path}`, data: path });
    }
    await published({ topic: `${base}/books`, data: "marker" });
    expect((await sub.waitForEvents(4)).map((e) => e.data)).toEqual(["books", "books/1", "years/2024", "marker"]);
    await sub.cancel();
  });

  it("private updates reach only subscribers whose token covers the topic", async () => {
    const secret = topic("private");
    const token = await draftToken(SUBSCRIBER_KEY, HUB, ["subscribe"], [{ match: secret }]);
    const anonymous = await subscribeHub([["match", secret]]);
    const holder = await subscribeHub([["match", secret]], { headers: { Authorization: `Bearer ${token}` } });
    await published({ topic: secret, data: "confidential", private: "on" });
    await published({ topic: secret, data: "public marker" });
    expect((await holder.waitForEvents(2)).map((e) => e.data)).toEqual(["confidential", "public marker"]);
    expect((await anonymous.waitForEvents(1)).map((e) => e.data)).toEqual(["public marker"]);
    expect(anonymous.events).toHaveLength(1);
    await anonymous.cancel();
    await holder.cancel();
  });

  it("Last-Event-ID resumes after that update across every matcher, in hub order, and says where it resumed", async () => {
    const a = topic();
    const b = topic();
    const c = topic();
    const first = await subscribeHub([
      ["match", a],
      ["match", b],
    ]);
    await published({ topic: a, data: "a1" });
    const lastSeen = await published({ topic: b, data: "b1" });
    await first.waitForEvents(2);
    await first.cancel();
    await published({ topic: b, data: "b2" });
    await published({ topic: c, data: "c: not selected" });
    await published({ topic: a, data: "a2" });
    const resumed = await subscribeHub(
      [
        ["match", a],
        ["match", b],
      ],
      { headers: { "Last-Event-ID": lastSeen } },
    );
    expect(resumed.response.headers.get("Last-Event-ID")).toBe(lastSeen);
    expect(resumed.response.headers.get("Mercure-Last-Event-ID")).toBe(lastSeen);
    expect((await resumed.waitForEvents(2)).map((e) => e.data)).toEqual(["b2", "a2"]);
    await published({ topic: a, data: "live" });
    expect((await resumed.waitForEvents(3)).map((e) => e.data)).toEqual(["b2", "a2", "live"]);
    await resumed.cancel();
  });

  it("the query form last_event_id works, the header wins over it, and a repeated id resolves to the earliest update", async () => {
    const t = topic();
    await published({ topic: t, data: "first x", id: `urn:x:${counter}` });
    const repeated = `urn:x:${counter}`;
    await published({ topic: t, data: "between" });
    await published({ topic: t, data: "second x", id: repeated });
    const viaQuery = await subscribeHub([
      ["match", t],
      ["last_event_id", repeated],
    ]);
    expect((await viaQuery.waitForEvents(2)).map((e) => e.data)).toEqual(["between", "second x"]);
    await viaQuery.cancel();
    const headerWins = await subscribeHub(
      [
        ["match", t],
        ["last_event_id", "urn:unknown"],
      ],
      { headers: { "Last-Event-ID": repeated } },
    );
    expect(headerWins.response.headers.get("Last-Event-ID")).toBe(repeated);
    expect((await headerWins.waitForEvents(2)).map((e) => e.data)).toEqual(["between", "second x"]);
    await headerWins.cancel();
    // An earlier revision's name is no cursor here (no compatibility shim): not resumed, no header.
    const oldName = await subscribeHub([
      ["match", t],
      ["lastEventID", repeated],
    ]);
    expect(oldName.response.headers.get("Mercure-Last-Event-ID")).toBeNull();
    await published({ topic: t, data: "live" });
    expect((await oldName.waitForEvents(1)).map((e) => e.data)).toEqual(["live"]);
    await oldName.cancel();
  });

  it("lets listed origins read the resume headers, with credentials (the token cookie)", async () => {
    const sub = await subscribeHub([["match", topic()]], {
      headers: { Origin: "https://app.example.com", "Last-Event-ID": "earliest" },
    });
    const headers = sub.response.headers;
    expect(headers.get("Access-Control-Allow-Origin")).toBe("https://app.example.com");
    expect(headers.get("Access-Control-Allow-Credentials")).toBe("true");
    expect(headers.get("Access-Control-Expose-Headers")).toMatch(/Last-Event-ID.*Mercure-Last-Event-ID/);
    await sub.cancel();
    const other = await SELF.fetch(`${HUB}?match=x`, { headers: { Origin: "https://evil.example" } });
    expect(other.headers.get("Access-Control-Allow-Origin")).toBeNull();
    await other.body?.cancel();
  });

  it("earliest and an unknown id replay every retained update and answer Last-Event-ID: earliest", async () => {
    const t = topic();
    await published({ topic: t, data: "one" });
    await published({ topic: t, data: "two" });
    for (const lastEventId of ["earliest", "urn:never-published"]) {
      const sub = await subscribeHub([["match", t]], { headers: { "Last-Event-ID": lastEventId } });
      expect(sub.response.headers.get("Last-Event-ID")).toBe("earliest");
      expect((await sub.waitForEvents(2)).map((e) => e.data)).toEqual(["one", "two"]);
      await sub.cancel();
    }
  });
});

describe("Mercure hub, canonical and alternate topics (draft-08 §Publication, §Publishers, §Subscribers)", () => {
  it("publishing needs publish on every topic: one topic outside the token is a 403 and nothing is stored", async () => {
    const canonical = topic("books");
    const alternate = topic("users");
    const watcher = await subscribeHub([["match", alternate]]);
    const partial = await draftToken(PUBLISHER_KEY, HUB, ["publish"], [{ match: canonical }]);
    const refused = await publishUpdate({ topic: [canonical, alternate], data: "half allowed" }, { token: partial });
    expect(refused.status).toBe(403);
    expect(refused.headers.get("WWW-Authenticate")).toMatch(/error="insufficient_scope"/);
    const both = await draftToken(PUBLISHER_KEY, HUB, ["publish"], [{ match: canonical }, { match: alternate }]);
    const accepted = await publishUpdate({ topic: [canonical, alternate], data: "both allowed" }, { token: both });
    expect(accepted.status).toBe(200);
    // A subscriber of the alternate topic alone gets it, once.
    expect((await watcher.waitForEvents(1)).map((e) => e.data)).toEqual(["both allowed"]);
    await watcher.cancel();
  });

  it("the spec's example: a grant on users/42/* reads a private update of books/1 through its alternate topic", async () => {
    const base = `https://example.com/alt-${Math.random().toString(36).slice(2, 8)}`;
    const token = await draftToken(
      SUBSCRIBER_KEY,
      HUB,
      ["subscribe"],
      [{ match: `${base}/users/42/*`, match_type: "urlpattern" }],
    );
    const other = await draftToken(
      SUBSCRIBER_KEY,
      HUB,
      ["subscribe"],
      [{ match: `${base}/users/43/*`, match_type: "urlpattern" }],
    );
    const routing: [string, string][] = [["match_urlpattern", `${base}/books/:id`]];
    const reader = await subscribeHub(routing, { headers: { Authorization: `Bearer ${token}` } });
    const outsider = await subscribeHub(routing, { headers: { Authorization: `Bearer ${other}` } });
    await published({ topic: [`${base}/books/1`, `${base}/users/42/books/1`], data: "for 42", private: "on" });
    await published({ topic: `${base}/books/1`, data: "private, no alternate", private: "on" });
    await published({ topic: `${base}/books/2`, data: "public marker" });
    expect((await reader.waitForEvents(2)).map((e) => e.data)).toEqual(["for 42", "public marker"]);
    expect((await outsider.waitForEvents(1)).map((e) => e.data)).toEqual(["public marker"]);
    expect(outsider.events).toHaveLength(1);
    await reader.cancel();
    await outsider.cancel();
  });
});

describe("Mercure hub resumption edge cases", () => {
  it("a private update's id resumes a subscriber that may not read it exactly as an unknown id does", async () => {
    const secret = topic("private");
    const before = await published({ topic: secret, data: "public, before it" });
    const privateId = await published({ topic: secret, data: "private", private: "on" });
    const after = await published({ topic: secret, data: "public, after it" });
    // Both subscriptions open, then a marker: everything up to it is what each stream said.
    const marker = topic();
    const streams = ["urn:never-published", privateId].map((lastEventId) =>
      framesUntil(
        [
          ["match", secret],
          ["match", marker],
        ],
        { "Last-Event-ID": lastEventId },
        (frames) => frames.some((frame) => frame.includes("data: marker")),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 200));
    await published({ topic: marker, data: "marker" });
    const [unknown, unreadable] = await Promise.all(streams);
    expect(unknown!.response.headers.get("Last-Event-ID")).toBe("earliest");
    expect(unreadable!.response.headers.get("Last-Event-ID")).toBe("earliest");
    expect(unreadable!.response.headers.get("Mercure-Last-Event-ID")).toBe("earliest");
    // Same frames, marks included: the same replay start, and nothing written about the private update.
    expect(unreadable!.frames).toEqual(unknown!.frames);
    const ids = unknown!.frames
      .filter((frame) => /^data: /m.test(frame))
      .map((frame) => /^id: (.*)$/m.exec(frame)?.[1]);
    expect(ids.slice(0, 2)).toEqual([before, after]);
  });

  it("a subscriber that may read a private update resumes right after it, and the header names it", async () => {
    const secret = topic("private");
    await published({ topic: secret, data: "public, before it" });
    const privateId = await published({ topic: secret, data: "private", private: "on" });
    const after = await published({ topic: secret, data: "public, after it" });
    const token = await draftToken(SUBSCRIBER_KEY, HUB, ["subscribe"], [{ match: secret }]);
    const holder = await subscribeHub([["match", secret]], {
      headers: { "Last-Event-ID": privateId, Authorization: `Bearer ${token}` },
    });
    expect(holder.response.headers.get("Last-Event-ID")).toBe(privateId);
    expect((await holder.waitForEvents(1)).map((e) => e.id)).toEqual([after]);
    await holder.cancel();
  });

  it("a repeated id still resolves once its first occurrence is pruned (HISTORY_LIMIT 20 here)", async () => {
    const t = topic();
    const repeated = `urn:repeated:${Math.random().toString(36).slice(2, 8)}`;
    await published({ topic: t, data: "first", id: repeated });
    for (let n = 0; n < 21; n++) await published({ topic: topic("filler"), data: `filler ${n}` });
    await published({ topic: t, data: "second", id: repeated });
    const next = await published({ topic: t, data: "next" });
    const sub = await subscribeHub([["match", t]], { headers: { "Last-Event-ID": repeated } });
    expect(sub.response.headers.get("Last-Event-ID")).toBe(repeated);
    expect((await sub.waitForEvents(1)).map((e) => e.id)).toEqual([next]);
    await sub.cancel();
  });

  it("a subscriber of a rare topic moves past filtered updates with position marks, however far it must replay", async () => {
    // 17 updates of 7 KB that it does not select lie between two it does: more than one connection may
    // replay (REPLAY_MAX_BYTES_PER_STREAM 100000 here), so without marks each reconnect would start over.
    const rare = topic("rare");
    let lastId = await published({ topic: rare, data: "first" });
    for (let n = 0; n < 17; n++) await published({ topic: topic("busy"), data: "x".repeat(7_000) });
    const wanted = await published({ topic: rare, data: "second" });
    const marks: string[] = [];
    let received: string | null = null;
    for (let attempt = 0; attempt < 6 && received === null; attempt++) {
      const url = `${HUB}?match=${encodeURIComponent(rare)}`;
      const response = await SELF.fetch(url, { headers: { "Last-Event-ID": lastId } });
      expect(response.status).toBe(200);
      // Read as a browser's EventSource does: an id-only frame moves its last event id. The stream
      // ends when its replay allowance is spent, or the wanted update arrives.
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
      let buffered = "";
      while (received === null) {
        const { done, value } = await reader.read();
        if (done) break;
        buffered += value;
        const blocks = buffered.split("\n\n");
        buffered = blocks.pop()!;
        for (const block of blocks) {
          const id = /^id: (.*)$/m.exec(block)?.[1];
          if (id === undefined) continue;
          lastId = id;
          if (id.startsWith("#")) marks.push(id);
          if (/^data: second$/m.test(block)) received = id;
        }
      }
      await reader.cancel().catch(() => {});
    }
    expect(received).toBe(wanted);
    expect(marks.length).toBeGreaterThan(0);
  });
});

describe("Mercure hub position marks are opaque (src/mercure/cursor.ts)", () => {
  it("a stream opens with a mark that is not the hub's counter, and resuming with it starts exactly there", async () => {
    const t = topic();
    await published({ topic: t, data: "before the mark" });
    const counter = await hubCounter();
    const mark = await openingMark([["match", t]]);
    expect(await hubCounter()).toBe(counter);
    expect(mark).toMatch(/^#[A-Za-z0-9_-]{22}$/);
    expect(mark).not.toBe(`#${counter}`);
    const expected = [await published({ topic: t, data: "after the mark" })];
    for (const resume of [{ headers: { "Last-Event-ID": mark } }, { query: mark }]) {
      const query: [string, string][] = [["match", t]];
      if ("query" in resume) query.push(["last_event_id", resume.query]);
      const sub = await subscribeHub(query, { headers: "headers" in resume ? resume.headers : {} });
      expect(sub.response.headers.get("Last-Event-ID")).toBe(mark);
      expect(sub.response.headers.get("Mercure-Last-Event-ID")).toBe(mark);
      expected.push(await published({ topic: t, data: "marker" }));
      expect((await sub.waitForEvents(expected.length)).map((e) => e.id)).toEqual(expected);
      await sub.cancel();
    }
  });

  it("a tampered mark, another hub's mark and the counter in clear resume like an unknown id", async () => {
    const t = topic();
    const first = await published({ topic: t, data: "one" });
    const counter = await hubCounter();
    const mark = await openingMark([["match", t]]);
    const second = await published({ topic: t, data: "two" });
    const flipped = mark.slice(0, 5) + (mark[5] === "A" ? "B" : "A") + mark.slice(6);
    const otherHub = positionMarks(new Uint8Array(32).fill(7)).mark(counter);
    for (const lastEventId of [flipped, otherHub, `#${counter}`, "urn:never-published"]) {
      const sub = await subscribeHub([["match", t]], { headers: { "Last-Event-ID": lastEventId } });
      expect([lastEventId, sub.response.headers.get("Last-Event-ID")]).toEqual([lastEventId, "earliest"]);
      expect((await sub.waitForEvents(2)).map((e) => e.id)).toEqual([first, second]);
      await sub.cancel();
    }
  });

  it("the key is the hub object's own random secret: stable across restarts, another object's differs", async () => {
    const hub = hubObject();
    const secret = await hub.secret();
    expect(secret.byteLength).toBe(32);
    await restart(hub);
    expect([...(await hubObject().secret())]).toEqual([...secret]);
    const other = env.CHANNELS.get(env.CHANNELS.idFromName("~mercure-elsewhere"));
    const elsewhere = await other.secret();
    expect([...elsewhere]).not.toEqual([...secret]);
    expect(positionMarks(elsewhere).mark(5)).not.toBe(positionMarks(secret).mark(5));
    // And the marks the hub writes are the ones its secret makes.
    const counter = await hubCounter();
    expect(await openingMark([["match", topic()]])).toBe(positionMarks(secret).mark(counter));
  });
});

describe("Mercure hub refusals", () => {
  it("refuses a publish without a token with 401 and a bare Bearer challenge", async () => {
    const response = await publishUpdate({ topic: topic(), data: "x" }, { token: null });
    expect(response.status).toBe(401);
    const challenge = response.headers.get("WWW-Authenticate") ?? "";
    expect(challenge).toMatch(/^Bearer/);
    expect(challenge).not.toMatch(/error=/);
  });

  it("refuses tokens for another audience, signed with the subscriber key, or expired: 401 invalid_token", async () => {
    const t = topic();
    const cases = [
      await draftToken(PUBLISHER_KEY, "https://other-hub.example/.well-known/mercure", ["publish"], [{ match: "*" }]),
      await draftToken(SUBSCRIBER_KEY, HUB, ["publish"], [{ match: "*" }]),
      await draftToken(PUBLISHER_KEY, HUB, ["publish"], [{ match: "*" }], { exp: Math.floor(Date.now() / 1000) - 60 }),
    ];
    for (const token of cases) {
      const response = await publishUpdate({ topic: t, data: "x" }, { token });
      expect(response.status).toBe(401);
      expect(response.headers.get("WWW-Authenticate")).toMatch(/error="invalid_token"/);
    }
  });

  it("refuses a publish outside the token's topics with 403 insufficient_scope, and stores nothing", async () => {
    const allowed = topic();
    const t = topic();
    const sub = await subscribeHub([["match", "*"]]);
    const token = await draftToken(PUBLISHER_KEY, HUB, ["publish"], [{ match: allowed }]);
    const response = await publishUpdate({ topic: t, data: "refused" }, { token });
    expect(response.status).toBe(403);
    expect(response.headers.get("WWW-Authenticate")).toMatch(/error="insufficient_scope"/);
    await published({ topic: allowed, data: "marker" });
    expect((await sub.waitForEvents(1)).map((e) => e.data)).toEqual(["marker"]);
    await sub.cancel();
  });

  it("refuses what the draft says must be refused", async () => {
    const t = topic();
    const cases: [Record<string, string | string[]>, number][] = [
      [{ data: "no topic" }, 400],
      [{ topic: "https://example.com/.well-known/mercure/subscriptions/x", data: "reserved" }, 400],
      [{ topic: "/.well-known/mercure", data: "reserved, relative" }, 400],
      [{ topic: "/.well-known/%6Dercure/subscriptions/x", data: "reserved, encoded" }, 400],
      [{ topic: [t, "/.well-known/mercure/x"], data: "reserved alternate" }, 400],
      [{ topic: "*", data: "the wildcard" }, 400],
      [{ topic: `${t}\u0007`, data: "control character" }, 400],
      [{ topic: `${t}\u200b`, data: "format character" }, 400],
      [{ topic: t, id: "#fragment", data: "id starting with #" }, 400],
      [{ topic: t, id: "a\u0009b", data: "id with TAB" }, 400],
      [{ topic: t, type: "a\nb", data: "type with LF" }, 400],
      [{ topic: t, type: "mercure", data: "a forged hub event" }, 400],
      [{ topic: t, retry: "12s", data: "retry not digits" }, 400],
    ];
    for (const [fields, status] of cases) {
      const response = await publishUpdate(fields);
      expect([JSON.stringify(fields), response.status]).toEqual([JSON.stringify(fields), status]);
    }
  });

  it("refuses the reserved namespace and the * topic with 400 whatever the token: none, invalid, or one that lacks scope", async () => {
    const narrow = await draftToken(PUBLISHER_KEY, HUB, ["publish"], [{ match: "https://example.com/only" }]);
    const tokens = [null, "not.a.token", await draftToken(SUBSCRIBER_KEY, HUB, ["publish"], [{ match: "*" }]), narrow];
    for (const token of tokens) {
      for (const t of ["/.well-known/mercure/subscriptions/x", "*"]) {
        const response = await publishUpdate({ topic: t, data: "x" }, { token });
        expect([token, t, response.status]).toEqual([token, t, 400]);
        expect(response.headers.get("WWW-Authenticate")).toBeNull();
      }
    }
  });

  it("refuses a non-form body with 400 (draft-08: malformed) and a cookie-authorized publish from an unlisted origin with 403", async () => {
    const token = await publisherToken();
    const json = await SELF.fetch(HUB, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ topic: topic(), data: "x" }),
    });
    expect(json.status).toBe(400);
    const forged = await publishUpdate(
      { topic: topic(), data: "csrf" },
      { token: null, headers: { Cookie: `__Secure-mercure_access_token=${token}`, Origin: "https://evil.example" } },
    );
    expect(forged.status).toBe(403);
    const listed = await publishUpdate(
      { topic: topic(), data: "same site" },
      { token: null, headers: { Cookie: `__Secure-mercure_access_token=${token}`, Origin: "https://app.example.com" } },
    );
    expect(listed.status).toBe(200);
  });

  it("refuses unknown match* parameters, control characters and too many matchers with 400", async () => {
    const bad = [
      [["match_regex", "x"]],
      [["MATCHexact", "x"]],
      [["matchURLPattern", "x"]],
      [["match_URLPattern", "x"]],
      [["match", "a\u0001b"]],
      Array.from({ length: 33 }, (_, i) => ["match", `https://example.com/${i}`]),
    ] as [string, string][][];
    for (const query of bad) {
      const url = new URL(HUB);
      for (const [name, value] of query) url.searchParams.append(name, value);
      const response = await SELF.fetch(url);
      expect([query[0]?.[0], response.status]).toEqual([query[0]?.[0], 400]);
      await response.body?.cancel();
    }
  });

  it("a draft-08 hub without an issuer for its key is misconfigured: /healthz names the setting", async () => {
    const unbound = { MERCURE_PUBLISHER_JWT_ISSUER: "", MERCURE_SUBSCRIBER_JWT_ISSUER: "" };
    for (const path of ["/healthz", "/.well-known/mercure?match=x"]) {
      const response = await fetchWithEnv(unbound, new Request(`${BASE}${path}`));
      const body = (await response.json()) as { error: string; message: string };
      expect([path, response.status, body.error]).toEqual([path, 500, "config_invalid"]);
      expect(body.message).toMatch(/MERCURE_PUBLISHER_JWT_ISSUER must be set/);
    }
    const legacy = await fetchWithEnv({ ...unbound, ...LEGACY }, new Request(`${BASE}/healthz`));
    expect(legacy.status).toBe(200);
  });

  it("a pre-standard token gets 401 invalid_token saying to set MERCURE_PROTOCOL=legacy, and is not accepted", async () => {
    const token = await legacyToken(PUBLISHER_KEY, { publish: ["*"] });
    const response = await publishUpdate({ topic: topic(), data: "x" }, { token });
    expect(response.status).toBe(401);
    expect(response.headers.get("WWW-Authenticate")).toMatch(/error="invalid_token"/);
    expect(((await response.json()) as { message: string }).message).toMatch(/MERCURE_PROTOCOL=legacy/);
    const url = new URL(HUB);
    url.searchParams.append("match", topic());
    const subscriber = await legacyToken(SUBSCRIBER_KEY, { subscribe: ["*"] });
    const refused = await SELF.fetch(url, { headers: { Authorization: `Bearer ${subscriber}` } });
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { message: string }).message).toMatch(/MERCURE_PROTOCOL=legacy/);
  });

  it("without anonymous access a subscriber without a token gets 401", async () => {
    const url = new URL(HUB);
    url.searchParams.append("match", topic());
    const response = await fetchWithEnv({ MERCURE_ANONYMOUS: "false" }, new Request(url));
    expect(response.status).toBe(401);
    expect(response.headers.get("WWW-Authenticate")).toMatch(/^Bearer/);
  });
});

describe("Mercure hub, pre-standard protocol (MERCURE_PROTOCOL=legacy)", () => {
  const via = (request: Request) => fetchWithEnv(LEGACY, request);

  it("URI templates select topics; an update with several topics reaches a subscriber once", async () => {
    const base = `https://example.com/legacy-${Math.random().toString(36).slice(2, 8)}`;
    const token = await legacyToken(PUBLISHER_KEY, { publish: ["*"] });
    const sub = await subscribeHub(
      [
        ["topic", `${base}/books/{id}`],
        ["topic", `${base}/authors/1`],
      ],
      { via },
    );
    const both = await publishUpdate(
      { topic: [`${base}/books/1`, `${base}/authors/1`], data: "both topics" },
      { token, via },
    );
    expect(both.status).toBe(200);
    await publishUpdate({ topic: `${base}/books/2`, data: "template" }, { token, via });
    expect((await sub.waitForEvents(2)).map((e) => e.data)).toEqual(["both topics", "template"]);
    await sub.cancel();
  });

  it("takes the mercure claim from the mercureAuthorization cookie and the authorization query parameter", async () => {
    const secret = `https://example.com/legacy-private/${Math.random().toString(36).slice(2, 8)}`;
    const publisher = await legacyToken(PUBLISHER_KEY, { publish: [secret] });
    const subscriber = await legacyToken(SUBSCRIBER_KEY, { subscribe: [secret] });
    const byCookie = await subscribeHub([["topic", secret]], {
      via,
      headers: { Cookie: `mercureAuthorization=${subscriber}` },
    });
    const byQuery = await subscribeHub(
      [
        ["topic", secret],
        ["authorization", subscriber],
      ],
      { via },
    );
    const response = await publishUpdate({ topic: secret, data: "private", private: "on" }, { token: publisher, via });
    expect(response.status).toBe(200);
    expect((await byCookie.waitForEvents(1))[0]?.data).toBe("private");
    expect((await byQuery.waitForEvents(1))[0]?.data).toBe("private");
    await byCookie.cancel();
    await byQuery.cancel();
  });

  it("publishes no protected resource metadata (pre-standard hubs have none; a draft-08 hub does)", async () => {
    const metadata = new Request(`${BASE}/.well-known/oauth-protected-resource/.well-known/mercure`);
    expect((await via(metadata.clone())).status).toBe(404);
    const draft = await SELF.fetch(metadata);
    expect(draft.status).toBe(200);
    const document = (await draft.json()) as Record<string, unknown>;
    expect(document).toEqual({
      resource: HUB,
      authorization_details_types_supported: ["https://mercure.rocks/authorization-detail"],
      bearer_methods_supported: ["header"],
      mercure_cookie: "__Secure-mercure_access_token",
    });
    expect(document).not.toHaveProperty("mercure_version");
  });
});
