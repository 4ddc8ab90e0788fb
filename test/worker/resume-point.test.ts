/**
 * Every stream says where it starts (src/events/position-event.ts): its first
 * bytes are the greeting, any relay.lost notice, then a relay.position event
 * whose id is the stream's cursor at attach, before any event. A stream that
 * ends before its first event therefore still resumes where it was, and what
 * was published in between is not lost. Runs in both delivery modes.
 */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { BASE, freshChannel, publishData, subscribe } from "./relay-client";
import { GUARD_MS } from "./sse-reader";

const POSITION = (id: string) => `id: ${id}\nevent: relay.position\ndata: \n\n`;
const GREETING = ": connected\n\nretry: 500\n\n";

/** Opens a stream and reads its raw text until `done` says enough (the stream is then cancelled). */
async function rawText(path: string, done: (text: string) => boolean, headers: Record<string, string> = {}) {
  const response = await SELF.fetch(`${BASE}${path}`, { headers });
  expect(response.status).toBe(200);
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const deadline = Date.now() + GUARD_MS;
  let text = "";
  while (!done(text)) {
    if (Date.now() > deadline) throw new Error(`timed out; read so far: ${JSON.stringify(text)}`);
    const { done: ended, value } = await reader.read();
    if (ended) break;
    text += decoder.decode(value, { stream: true });
  }
  await reader.cancel().catch(() => {});
  return text;
}

describe("a stream's resume point", () => {
  it("a fresh stream's first bytes are the greeting and its position at the channel's head, before any event", async () => {
    const channel = freshChannel();
    for (let n = 1; n <= 3; n++) await publishData(channel, `e${n}`);
    const text = await rawText(`/v1/channels/${channel}/events`, (t) => t.includes(POSITION("3")));
    expect(text).toBe(GREETING + POSITION("3"));
  });

  it("on an empty channel the position is 0 (which resumes as 'everything retained')", async () => {
    const channel = freshChannel();
    const text = await rawText(`/v1/channels/${channel}/events`, (t) => t.includes(POSITION("0")));
    expect(text).toBe(GREETING + POSITION("0"));
  });

  it("a resumed stream's position is its Last-Event-ID, written before the events it replays", async () => {
    const channel = freshChannel();
    for (let n = 1; n <= 3; n++) await publishData(channel, `e${n}`);
    const text = await rawText(`/v1/channels/${channel}/events`, (t) => t.includes("data: e3\n"), {
      "Last-Event-ID": "1",
    });
    expect(text).toBe(`${GREETING}${POSITION("1")}id: 2\ndata: e2\n\nid: 3\ndata: e3\n\n`);
  });

  it("an unknown Last-Event-ID gets relay.lost first, then the position it replays from", async () => {
    const channel = freshChannel();
    for (let n = 1; n <= 2; n++) await publishData(channel, `e${n}`);
    const text = await rawText(`/v1/channels/${channel}/events`, (t) => t.includes("data: e2\n"), {
      "Last-Event-ID": "99",
    });
    const lost = `event: relay.lost\ndata: {"reason":"unknown-id","lastEventId":"99","firstAvailableId":"1"}\n\n`;
    expect(text).toBe(`${GREETING}${lost}${POSITION("0")}id: 1\ndata: e1\n\nid: 2\ndata: e2\n\n`);
  });

  it("a stream closed before its first event resumes from its position: events published in the gap arrive", async () => {
    const channel = freshChannel();
    await publishData(channel, "before");
    const first = await subscribe(channel);
    await first.cancel(); // ends before any event: all the client has is the position
    expect(first.events).toEqual([]);
    expect(first.positions).toEqual(["1"]);
    await publishData(channel, "gap 1");
    await publishData(channel, "gap 2");
    const second = await subscribe(channel, { headers: { "Last-Event-ID": first.positions[0]! } });
    const events = await second.waitForEvents(2);
    expect(events.map((event) => [event.id, event.data])).toEqual([
      ["2", "gap 1"],
      ["3", "gap 2"],
    ]);
    expect(second.positions).toEqual(["1"]);
    await second.cancel();
  });
});
