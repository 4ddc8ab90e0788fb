/**
 * Several channels on one stream: GET /v1/events?channel=a&channel=b (hibernating delivery).
 * Ids are positional cursors `<k>:<c0>.<c1>…` (src/edge/multi-cursor.ts).
 */
import { SELF, env } from "cloudflare:test";
import { sign } from "hono/jwt";
import type { EventSourceMessage } from "eventsource-parser";
import { describe, expect, it } from "vitest";
import { restart } from "../restart";
import { BASE, freshChannel, publishData } from "../relay-client";
import { readStream, type StreamReader } from "../sse-reader";

const SUBSCRIBE_SECRET = "test-subscribe-secret-0123456789abcdef";

function url(channels: readonly string[], query = ""): string {
  return `${BASE}/v1/events?${channels.map((channel) => `channel=${encodeURIComponent(channel)}`).join("&")}${query}`;
}

async function openMany(
  channels: readonly string[],
  headers: Record<string, string> = {},
): Promise<StreamReader & { response: Response }> {
  const response = await SELF.fetch(url(channels), { headers });
  if (response.status !== 200) throw new Error(`subscribe failed: ${response.status} ${await response.text()}`);
  const reader = readStream(response);
  await reader.waitForComment((comment) => comment.trim() === "connected");
  return Object.assign(reader, { response });
}

/** Channel index, and the event's own id on that channel (its position in the cursor). */
function decode(event: EventSourceMessage): { channel: number; id: number; positions: number[] } {
  const [channel, rest] = event.id!.split(":");
  const positions = rest!.split(".").map(Number);
  return { channel: Number(channel), id: positions[Number(channel)]!, positions };
}

async function refusal(response: Response): Promise<{ status: number; error: string; message: string }> {
  const body = (await response.json()) as { error: string; message: string };
  return { status: response.status, ...body };
}

describe("multi-channel streams", () => {
  it("each event says its channel; ids are cursors; exactly once and in order per channel", async () => {
    const [a, b, c] = [freshChannel(), freshChannel(), freshChannel()];
    await publishData(a, "old"); // before the stream: not delivered
    const stream = await openMany([a, b, c]);
    const published: [number, string][] = [];
    for (let n = 0; n < 12; n++) {
      const index = (n * 7) % 3;
      await publishData([a, b, c][index]!, `e${n}`, n % 2 ? "tick" : undefined);
      published.push([index, `e${n}`]);
    }
    const events = await stream.waitForEvents(12);
    for (let index = 0; index < 3; index++) {
      const mine = events.filter((event) => decode(event).channel === index);
      expect(mine.map((event) => event.data)).toEqual(published.filter(([k]) => k === index).map(([, d]) => d));
      const ids = mine.map((event) => decode(event).id);
      const first = index === 0 ? 2 : 1;
      expect(ids).toEqual(ids.map((_, n) => first + n));
    }
    // The publisher's event name is kept; every cursor holds every channel's position so far.
    // (Checked by data: the order between channels is the order their pushes reached the Worker.)
    for (const event of events) expect(event.event).toBe(Number(event.data.slice(1)) % 2 ? "tick" : undefined);
    let previous = [1, 0, 0];
    for (const event of events) {
      const { positions, channel } = decode(event);
      expect(positions.filter((_, k) => k !== channel)).toEqual(previous.filter((_, k) => k !== channel));
      expect(positions[channel]).toBe(previous[channel]! + 1);
      previous = positions;
    }
    await stream.cancel();
  });

  it("one Last-Event-ID resumes every channel while events keep coming: no gap, no duplicate", async () => {
    const channels = [freshChannel(), freshChannel()];
    const first = await openMany(channels);
    for (let n = 0; n < 4; n++) await publishData(channels[n % 2]!, `a${n}`);
    const before = await first.waitForEvents(4);
    await first.cancel();
    const lastId = before.at(-1)!.id!;
    // Published while no stream is open, then while the new one connects.
    for (let n = 4; n < 8; n++) await publishData(channels[n % 2]!, `a${n}`);
    const during = Promise.all([8, 9, 10].map((n) => publishData(channels[n % 2]!, `a${n}`)));
    const second = await openMany(channels, { "Last-Event-ID": lastId });
    await during;
    for (let n = 11; n < 14; n++) await publishData(channels[n % 2]!, `a${n}`);
    const after = await second.waitForEvents(10);
    for (let index = 0; index < 2; index++) {
      const ids = [...before, ...after].filter((e) => decode(e).channel === index).map((e) => decode(e).id);
      expect(ids).toEqual(ids.map((_, n) => n + 1));
      expect(ids).toHaveLength(7);
    }
    await second.cancel();
  });

  it("the query form ?lastEventId= resumes too; the header wins over it", async () => {
    const [a, b] = [freshChannel(), freshChannel()];
    for (const data of ["1", "2", "3"]) await publishData(a, data);
    await publishData(b, "x");
    const response = await SELF.fetch(url([a, b], "&lastEventId=0:1.0"));
    const reader = readStream(response);
    const events = await reader.waitForEvents(3);
    // The two channels catch up side by side: their order between them is not fixed, each one's is.
    expect(events.filter((e) => decode(e).channel === 0).map((e) => decode(e).id)).toEqual([2, 3]);
    expect(events.filter((e) => decode(e).channel === 1).map((e) => decode(e).id)).toEqual([1]);
    expect(decode(events[2]!).positions).toEqual([3, 1]);
    await reader.cancel();
    const header = await openMany([a, b], { "Last-Event-ID": "1:3.0" });
    // The query value is ignored when the header is there (EventSource keeps the URL on reconnect).
    const [next] = await header.waitForEvents(1);
    expect(next!.id).toBe("1:3.1");
    await header.cancel();
  });

  it("a channel's object restarting mid-stream does not cost an event or double one", async () => {
    const [a, b] = [freshChannel(), freshChannel()];
    const stream = await openMany([a, b]);
    await publishData(a, "a1");
    await publishData(b, "b1");
    await stream.waitForEvents(2);
    const burst = [2, 3, 4].map((n) => publishData(a, `a${n}`));
    await restart(env.CHANNELS.get(env.CHANNELS.idFromName(a)));
    await Promise.all(burst);
    await publishData(b, "b2");
    await publishData(a, "a5");
    const events = await stream.waitForEvents(7);
    const of = (index: number) => events.filter((e) => decode(e).channel === index).map((e) => e.data);
    expect(of(0).sort()).toEqual(["a1", "a2", "a3", "a4", "a5"]);
    expect(events.filter((e) => decode(e).channel === 0).map((e) => decode(e).id)).toEqual([1, 2, 3, 4, 5]);
    expect(of(1)).toEqual(["b1", "b2"]);
    await stream.cancel();
  });

  it("an unknown position gets relay.lost naming its channel, then what that channel retains", async () => {
    const [a, b] = [freshChannel(), freshChannel()];
    await publishData(a, "a1");
    await publishData(b, "b1");
    const stream = await openMany([a, b], { "Last-Event-ID": "0:1.50" });
    const [lost, event] = await stream.waitForEvents(2);
    expect(lost!.event).toBe("relay.lost");
    expect(lost!.id).toBeUndefined();
    expect(JSON.parse(lost!.data)).toEqual({
      reason: "unknown-id",
      lastEventId: "50",
      firstAvailableId: "1",
      channel: b,
    });
    expect(event).toMatchObject({ id: "1:1.1", data: "b1" });
    await stream.cancel();
  });

  it("refuses past MAX_CHANNELS_PER_STREAM, duplicates, bad names and no channel, with JSON 400s", async () => {
    const many = Array.from({ length: 17 }, () => freshChannel());
    expect(await refusal(await SELF.fetch(url(many)))).toMatchObject({ status: 400, error: "too_many_channels" });
    const a = freshChannel();
    const duplicate = await refusal(await SELF.fetch(url([a, freshChannel(), a])));
    expect(duplicate).toMatchObject({ status: 400, error: "duplicate_channel" });
    expect(duplicate.message).toContain(a);
    expect(await refusal(await SELF.fetch(url([a, "bad name"])))).toMatchObject({
      status: 400,
      error: "invalid_channel",
    });
    expect(await refusal(await SELF.fetch(`${BASE}/v1/events`))).toMatchObject({
      status: 400,
      error: "missing_channel",
    });
    // 16 is allowed (the default cap).
    const sixteen = await SELF.fetch(url(many.slice(0, 16)));
    expect(sixteen.status).toBe(200);
    await sixteen.body?.cancel();
  });

  it("an empty position starts that channel at its live end, the others resume", async () => {
    const [a, b] = [freshChannel(), freshChannel()];
    for (const data of ["a1", "a2"]) await publishData(a, data);
    await publishData(b, "b1");
    const stream = await openMany([a, b], { "Last-Event-ID": "0:1." });
    const [first] = await stream.waitForEvents(1);
    expect(first).toMatchObject({ id: "0:2.1", data: "a2" });
    await publishData(b, "b2");
    const [, second] = await stream.waitForEvents(2);
    expect(second).toMatchObject({ id: "1:2.2", data: "b2" });
    await stream.cancel();
  });

  it("refuses a malformed cursor or one for another number of channels", async () => {
    const channels = [freshChannel(), freshChannel()];
    for (const bad of ["5", "0:1", "0:1.2.3", "2:1.1", "x:1.1", "0:1.-1", "0:1.1 ", "0:1.1e3"]) {
      // In the query, so nothing trims it (fetch trims header values).
      const result = await refusal(await SELF.fetch(url(channels, `&lastEventId=${encodeURIComponent(bad)}`)));
      expect(result, bad).toMatchObject({ status: 400, error: "invalid_last_event_id" });
    }
  });

  it("a private channel among them needs a token covering it: 401 without, 403 naming it", async () => {
    const open = freshChannel();
    const secret = freshChannel("private");
    const other = freshChannel("private");
    const missing = await refusal(await SELF.fetch(url([open, secret])));
    expect(missing).toMatchObject({ status: 401, error: "unauthorized" });
    expect(missing.message).toContain(secret);
    const exp = Math.floor(Date.now() / 1000) + 300;
    const token = await sign({ scope: "subscribe", channels: [secret], exp }, SUBSCRIBE_SECRET, "HS256");
    const forbidden = await refusal(
      await SELF.fetch(url([open, secret, other]), { headers: { Authorization: `Bearer ${token}` } }),
    );
    expect(forbidden).toMatchObject({ status: 403, error: "forbidden" });
    expect(forbidden.message).toContain(other);
    const stream = await openMany([open, secret], { Authorization: `Bearer ${token}` });
    await publishData(secret, "s1");
    const [event] = await stream.waitForEvents(1);
    expect(event).toMatchObject({ id: "1:0.1", data: "s1" });
    await stream.cancel();
  });

  it("counts the stream as one subscriber of each channel", async () => {
    const [a, b] = [freshChannel(), freshChannel()];
    const stream = await openMany([a, b]);
    const subscribers = async (channel: string) =>
      (
        (await (
          await SELF.fetch(`${BASE}/v1/channels/${channel}`, { headers: { Authorization: "Bearer test-token" } })
        ).json()) as { subscribers: number }
      ).subscribers;
    expect([await subscribers(a), await subscribers(b)]).toEqual([1, 1]);
    await stream.cancel();
  });
});
