/**
 * End to end: a multi-channel stream (GET /v1/events?channel=a&channel=b) under `wrangler dev`,
 * read by the `eventsource` npm package as a plain EventSource. Streams end every second here
 * (MAX_STREAM_SECONDS=1), so the client's own reconnects, with the positional Last-Event-ID the
 * relay sent, resume every channel many times while events keep coming.
 */
import { EventSource } from "eventsource";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publishTo, until } from "../support/sse-client";
import { startRelay, type RelayProcess } from "../support/wrangler-dev";

let relay: RelayProcess;

beforeAll(async () => {
  relay = await startRelay({ RETRY_MS: "100", HEARTBEAT_MS: "1000", HISTORY_LIMIT: "500", MAX_STREAM_SECONDS: "1" });
});

afterAll(async () => {
  await relay?.dispose();
});

interface Got {
  channel: number;
  id: string;
  type: string;
  data: string;
}

function listenMany(channels: string[], types: string[] = ["message"]) {
  const source = new EventSource(`${relay.url}/v1/events?${channels.map((c) => `channel=${c}`).join("&")}`);
  const got: Got[] = [];
  let opens = 0;
  source.addEventListener("open", () => (opens += 1));
  for (const type of types) {
    source.addEventListener(type, (event) =>
      got.push({ channel: Number(event.lastEventId.split(":")[0]), id: event.lastEventId, type, data: event.data }),
    );
  }
  return { source, got, opens: () => opens };
}

/** Each channel's own id of an event: its position in the cursor. */
const ownId = (event: Got) => Number(event.id.split(":")[1]!.split(".")[event.channel]);

describe("multi-channel streams through wrangler dev + eventsource", () => {
  it("frames survive the id rewrite: names, multi-line, CR/CRLF, unicode, large data", async () => {
    const channels = ["mc-a", "mc-b"];
    const corpus = [
      "plain",
      "",
      " lead",
      "l1\nl2",
      "cr\rcrlf\r\nend",
      "data: x\n\nid: 9",
      "héllo 🎉",
      "x".repeat(30_000),
    ];
    const listener = listenMany(channels, ["message", "named"]);
    await until(() => listener.opens() >= 1);
    for (const [index, data] of corpus.entries()) {
      await publishTo(relay.url, channels[index % 2]!, index % 3 ? { data } : { data, event: "named" });
    }
    await until(
      () => listener.got.length >= corpus.length,
      () => `${listener.got.length} of ${corpus.length}`,
    );
    listener.source.close();
    const byChannel = (k: number) => listener.got.filter((event) => event.channel === k);
    for (const k of [0, 1]) {
      const expected = corpus.flatMap((data, index) =>
        index % 2 === k ? [{ data: data.replace(/\r\n|\r/g, "\n"), type: index % 3 ? "message" : "named" }] : [],
      );
      expect(byChannel(k).map(({ data, type }) => ({ data, type }))).toEqual(expected);
      expect(byChannel(k).map(ownId)).toEqual(expected.map((_, n) => n + 1));
    }
  });

  it("EventSource's own reconnects resume every channel: exactly once and in order per channel", async () => {
    const channels = ["mr-a", "mr-b", "mr-c"];
    const listener = listenMany(channels);
    await until(() => listener.opens() >= 1);
    const sent: number[] = [0, 0, 0];
    let n = 0;
    // Publish until the stream has ended and been resumed at least three times (MAX_STREAM_SECONDS=1).
    while (listener.opens() < 4) {
      const k = n % 3;
      await publishTo(relay.url, channels[k]!, { data: `${k}:${sent[k]! + 1}` });
      sent[k]! += 1;
      n += 1;
    }
    for (let k = 0; k < 3; k++) await publishTo(relay.url, channels[k]!, { data: `${k}:${++sent[k]!}` });
    const total = sent.reduce((sum, count) => sum + count, 0);
    await until(
      () => listener.got.length >= total,
      () => `${listener.got.length} of ${total}`,
    );
    listener.source.close();
    expect(listener.got).toHaveLength(total);
    for (let k = 0; k < 3; k++) {
      const mine = listener.got.filter((event) => event.channel === k);
      expect(mine.map((event) => event.data)).toEqual(Array.from({ length: sent[k]! }, (_, i) => `${k}:${i + 1}`));
      expect(mine.map(ownId)).toEqual(Array.from({ length: sent[k]! }, (_, i) => i + 1));
    }
  });

  it("answers a too-long channel list and a malformed cursor with JSON 400s", async () => {
    const many = Array.from({ length: 17 }, (_, i) => `channel=c${i}`).join("&");
    const tooMany = await fetch(`${relay.url}/v1/events?${many}`);
    expect(tooMany.status).toBe(400);
    expect(((await tooMany.json()) as { error: string }).error).toBe("too_many_channels");
    const bad = await fetch(`${relay.url}/v1/events?channel=a&channel=b`, { headers: { "Last-Event-ID": "7" } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toBe("invalid_last_event_id");
  });
});
