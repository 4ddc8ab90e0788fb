/**
 * Ill-formed Unicode (lone surrogates) and frame size: what a live
 * subscriber gets and what a replay from SQLite sends are the same bytes,
 * and no frame outgrows twice MAX_EVENT_BYTES however the data is shaped.
 */
import { SELF } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { entryToEvent } from "../../src/redis/ingest";
import { isWellFormedText, toWellFormedText } from "../../src/sse/codec";
import { BASE, TOKEN, freshChannel, publish, stats } from "./relay-client";
import { eventually } from "./sse-reader";

const MAX_EVENT_BYTES = 8192; // vitest.config.ts

/** Reads a stream's raw bytes and cuts them into frames (a frame ends with a blank line). */
function rawFrames(response: Response) {
  const reader = response.body!.getReader();
  let buffered = new Uint8Array(0);
  const frames: Uint8Array[] = [];
  const pump = (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      const joined = new Uint8Array(buffered.byteLength + value.byteLength);
      joined.set(buffered);
      joined.set(value, buffered.byteLength);
      let start = 0;
      for (let i = 1; i < joined.byteLength; i++) {
        if (joined[i] === 0x0a && joined[i - 1] === 0x0a) {
          frames.push(joined.slice(start, i + 1));
          start = i + 1;
        }
      }
      buffered = joined.slice(start);
    }
  })().catch(() => {});
  const latin1 = (frame: Uint8Array) => String.fromCharCode(...frame);
  return {
    /** The frame carrying `id: <id>`, once it has arrived. */
    async frame(id: string): Promise<Uint8Array> {
      const find = () => frames.find((frame) => latin1(frame).startsWith(`id: ${id}\n`));
      await eventually(async () => find() !== undefined);
      return find()!;
    },
    async cancel() {
      await reader.cancel();
      await pump;
    },
  };
}

async function openRaw(channel: string, query = "") {
  const response = await SELF.fetch(`${BASE}/v1/channels/${channel}/events${query}`);
  expect(response.status).toBe(200);
  const frames = rawFrames(response);
  return frames;
}

/** Data and names with every shape of UTF-16 trouble, lone surrogates included. */
const samples: { data: string; event?: string }[] = [
  { data: "lone high \uD800 in the middle" },
  { data: "lone low \uDC00 at the start" },
  { data: "reversed pair \uDC00\uD800" },
  { data: "ends with a high surrogate \uDBFF" },
  { data: "ok", event: "name-\uD83D" },
  { data: "pair 🎉 and U+FFFD \uFFFD and BOM \uFEFF and U+2028 \u2028" },
  { data: "astral 𝄞 split across lines\r\n𝄞\r𝄞\n" },
  { data: "named", event: "🎉-\uFFFD" },
];

describe("lone surrogates", () => {
  it("a published event is refused (400) or reads byte for byte the same live and replayed", async () => {
    const channel = freshChannel("unicode");
    const live = await openRaw(channel);
    const accepted: string[] = [];
    const decisions: { label: string; status: number; expected: number }[] = [];
    for (const sample of samples) {
      const response = await publish(channel, sample);
      if (response.status === 201) accepted.push(((await response.json()) as { id: string }).id);
      else {
        expect(response.status).toBe(400);
        await response.arrayBuffer();
      }
      // Labels are JSON, which escapes lone surrogates: the test runner's channel carries valid UTF-8 only.
      const wellFormed = isWellFormedText(sample.data) && isWellFormedText(sample.event ?? "");
      decisions.push({ label: JSON.stringify(sample), status: response.status, expected: wellFormed ? 201 : 400 });
    }
    const replay = await openRaw(channel, "?lastEventId=0");
    for (const id of accepted) {
      expect([...(await replay.frame(id))], `event ${id}`).toEqual([...(await live.frame(id))]);
    }
    // The decision: ill-formed text is refused over HTTP, well-formed text accepted.
    for (const { label, status, expected } of decisions) expect({ label, status }).toEqual({ label, status: expected });
    await live.cancel();
    await replay.cancel();
  });

  it("refuses them with a clear error in single, text/plain and batch publishes, changing nothing", async () => {
    const channel = freshChannel("unicode-refused");
    const single = await publish(channel, '{"data": "x\\ud800y"}');
    expect(await single.json()).toMatchObject({ error: "invalid_data", message: expect.stringMatching(/surrogate/) });
    const named = await publish(channel, '{"data": "x", "event": "a\\udc00"}');
    expect(await named.json()).toMatchObject({ error: "invalid_event_name" });
    const batch = await SELF.fetch(`${BASE}/v1/events`, {
      method: "POST",
      headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
      body: `{"events": [{"channel": "${channel}", "data": "fine"}, {"channel": "${channel}", "data": "\\ud800"}]}`,
    });
    expect(batch.status).toBe(400);
    expect(await batch.json()).toMatchObject({ error: "invalid_data" });
    // Inside a JSON value they are escaped (\ud800 as text), which is well-formed: accepted.
    expect((await publish(channel, '{"data": {"a": "\\ud800"}}')).status).toBe(201);
    expect((await stats(channel)).eventsRetained).toBe(1);
  });
});

describe("Redis entries with lone surrogates", () => {
  afterEach(() => vi.restoreAllMocks());

  it("are made well-formed (U+FFFD) and logged, never skipped", () => {
    const warned: string[] = [];
    vi.spyOn(console, "warn").mockImplementation((line: unknown) => warned.push(String(line)));
    const entry = {
      id: "7-0",
      fields: new Map([
        ["data", "a\uD800b"],
        ["event", "n\uDC00"],
      ]),
    };
    const result = entryToEvent(entry, { maxEventBytes: 100 });
    expect(JSON.stringify(result)).toBe(JSON.stringify({ event: { data: "a\uFFFDb", event: "n\uFFFD" } }));
    expect(warned.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({ msg: "redis entry repaired", entry: "7-0", field: "data" }),
      expect.objectContaining({ msg: "redis entry repaired", entry: "7-0", field: "event" }),
    ]);
    expect(warned.join("")).not.toContain("a\uFFFDb");
    expect(JSON.stringify(toWellFormedText("\uD83D\uDE00 \uD83D"))).toBe(JSON.stringify("\uD83D\uDE00 \uFFFD"));
  });
});

describe("frame size", () => {
  it("refuses (413) data whose frame outgrows twice MAX_EVENT_BYTES, though its data fits", async () => {
    const channel = freshChannel("frames");
    const newlines = "\n".repeat(MAX_EVENT_BYTES); // 8 KiB of data, a 57 KB frame
    for (const response of [
      await publish(channel, { data: newlines }),
      await SELF.fetch(`${BASE}/v1/channels/${channel}/events`, {
        method: "POST",
        headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "text/plain" },
        body: newlines,
      }),
      await SELF.fetch(`${BASE}/v1/events`, {
        method: "POST",
        headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
        body: JSON.stringify({
          events: [
            { channel, data: "fine" },
            { channel, data: "\r".repeat(4000) },
          ],
        }),
      }),
    ]) {
      expect(response.status).toBe(413);
      const body = (await response.json()) as { error: string; message: string };
      expect(body.error).toBe("event_too_large");
      expect(body.message).toMatch(/MAX_EVENT_BYTES, 16384/);
    }
    expect((await stats(channel)).eventsRetained).toBe(0);
    // Multi-line data of the full size with ordinary lines is fine.
    const lines = Array.from({ length: 200 }, (_, i) => `line ${i} `.padEnd(40, "x")).join("\n");
    expect((await publish(channel, { data: lines.slice(0, MAX_EVENT_BYTES) })).status).toBe(201);
  });

  it("skips such a Redis entry with a reason", () => {
    expect(entryToEvent({ id: "1-0", fields: new Map([["data", "\n".repeat(100)]]) }, { maxEventBytes: 100 })).toEqual({
      skipped: expect.stringMatching(/MAX_EVENT_BYTES/),
    });
  });
});
