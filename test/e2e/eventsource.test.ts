/**
 * End to end: the relay under `wrangler dev` (local workerd), read by the
 * `eventsource` npm package, a WHATWG-compliant EventSource for Node.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { channelStats, listen as listenTo, publishTo, until } from "../support/sse-client";
import { startRelay, type RelayProcess } from "../support/wrangler-dev";

let relay: RelayProcess;

beforeAll(async () => {
  relay = await startRelay({ RETRY_MS: "300", HEARTBEAT_MS: "1000", HISTORY_LIMIT: "500" });
});

afterAll(async () => {
  await relay?.dispose();
});

const listen = (channel: string, types?: string[], init?: Parameters<typeof listenTo>[3]) =>
  listenTo(relay.url, channel, types, init);
const publish = (channel: string, body: unknown) => publishTo(relay.url, channel, body);

/** Payloads chosen to break naive framing. */
const ADVERSARIAL: string[] = [
  "plain",
  "",
  " leading space",
  "  two leading spaces",
  "trailing space ",
  "line one\nline two",
  "cr\ronly",
  "crlf\r\nline",
  "mixed\r\n\n\r\rend",
  "\n",
  "\r\n\r\n",
  "\nstarts with a break",
  "ends with a break\n",
  "data: looks like a field",
  "id: 999\nevent: forged\nretry: 1",
  "\n\ndata: injected event\n\n",
  ": looks like a comment",
  "event: close",
  "\u0000 nul byte",
  "tabs\tand\u000bvertical\u000cfeeds",
  "unicode: héllo wörld 漢字 مرحبا 🎉🧪",
  "\u2028\u2029 separators",
  "\ufeffbyte order mark first",
  '{"json":"object","nested":{"a":[1,2,3]}}',
  "</script><script>alert(1)</script>",
  "x".repeat(60_000),
  "a\n".repeat(2_000),
];

describe("wrangler dev + eventsource client", () => {
  it("delivers an adversarial payload corpus byte-exact (CR and CRLF normalized to LF)", async () => {
    const channel = "corpus";
    const listener = listen(channel, ["message", "named"]);
    await listener.opened;
    for (const [index, data] of ADVERSARIAL.entries()) {
      await publish(channel, index % 2 === 0 ? { data } : { data, event: "named" });
    }
    await until(
      () => listener.received.length >= ADVERSARIAL.length,
      () => `${listener.received.length} of ${ADVERSARIAL.length}`,
    );
    listener.source.close();
    expect(listener.received.map((event) => event.id)).toEqual(ADVERSARIAL.map((_, index) => String(index + 1)));
    listener.received.forEach((event, index) => {
      expect(event.type).toBe(index % 2 === 0 ? "message" : "named");
      expect(event.data).toBe(ADVERSARIAL[index]!.replace(/\r\n|\r/g, "\n"));
    });
  });

  it("a client resuming with Last-Event-ID gets exactly the events it missed", async () => {
    const channel = "resume";
    const first = listen(channel);
    await first.opened;
    for (const n of [1, 2, 3]) await publish(channel, { data: `before ${n}` });
    await until(
      () => first.received.length === 3,
      () => `${first.received.length} of 3`,
    );
    const lastEventId = first.received[2]!.id;
    first.source.close();

    for (const n of [4, 5, 6]) await publish(channel, { data: `missed ${n}` });

    // The eventsource client sends Last-Event-ID itself only on reconnect; here we set it as a resuming client would.
    const resumed = listen(channel, ["message"], {
      fetch: (input, init) => fetch(input, { ...init, headers: { ...init.headers, "Last-Event-ID": lastEventId } }),
    });
    await resumed.opened;
    await publish(channel, { data: "live 7" }); // live, so after anything replayed: the marker
    await until(
      () => resumed.received.some((event) => event.data === "live 7"),
      () => JSON.stringify(resumed.received),
    );
    resumed.source.close();
    expect(resumed.received.map((event) => [event.id, event.data])).toEqual([
      ["4", "missed 4"],
      ["5", "missed 5"],
      ["6", "missed 6"],
      ["7", "live 7"],
    ]);
  });

  it("counts a closed EventSource out, as a disconnect (not a stall or overflow)", async () => {
    const channel = "count";
    const listeners = [listen(channel), listen(channel), listen(channel)];
    await Promise.all(listeners.map((listener) => listener.opened));
    const stats = () => channelStats(relay.url, channel) as Promise<{ subscribers: number; closedStreams: object }>;
    expect((await stats()).subscribers).toBe(3);
    listeners[0]!.close();
    await until(
      async () => (await stats()).subscribers === 2,
      () => "still 3 subscribers",
    );
    for (const listener of listeners.slice(1)) listener.close();
    await until(
      async () => (await stats()).subscribers === 0,
      () => "subscribers left",
    );
    expect((await stats()).closedStreams).toEqual({ overflow: 0, stalled: 0, expired: 0 });
  });

  it("survives a relay restart: EventSource reconnects on its own and ends with every event once", async () => {
    const channel = "restart";
    const listener = listen(channel);
    await listener.opened;
    for (let n = 1; n <= 5; n++) await publish(channel, { data: `event ${n}` });
    await until(
      () => listener.received.length === 5,
      () => `${listener.received.length} of 5`,
    );

    await relay.stop();
    await relay.restart();
    // Published while the client is still reconnecting: it must get them by replay.
    for (let n = 6; n <= 10; n++) await publish(channel, { data: `event ${n}` });

    await until(
      () => listener.received.length >= 10,
      () => `${listener.received.length} of 10: ${relay.output().slice(-2000)}`,
      30_000,
    );
    await publish(channel, { data: "event 11" }); // the marker: live, after anything replayed
    await until(
      () => listener.received.some((event) => event.data === "event 11"),
      () => `marker missing: ${JSON.stringify(listener.received.map((event) => event.data))}`,
    );
    listener.source.close();
    expect(listener.opens()).toBeGreaterThanOrEqual(2);
    expect(listener.received.map((event) => event.data)).toEqual(
      Array.from({ length: 11 }, (_, index) => `event ${index + 1}`),
    );
    expect(listener.received.map((event) => event.id)).toEqual(
      Array.from({ length: 11 }, (_, index) => String(index + 1)),
    );
  });
});
