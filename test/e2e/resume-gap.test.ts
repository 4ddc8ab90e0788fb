/**
 * A stream the relay ends before its first event still resumes where it was
 * (the relay.position event it starts with, src/events/position-event.ts):
 * 20 EventSource subscribers whose streams reach MAX_STREAM_SECONDS before
 * any event; an event published while they are all waiting to reconnect
 * (RETRY_MS 10 s) reaches every one of them, exactly once. Without a resume
 * point the reconnect starts "from now" and the event is lost. Both
 * delivery modes, through `wrangler dev` and the `eventsource` client.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Listener, listen, publishTo, until } from "../support/sse-client";
import { type RelayProcess, startRelay } from "../support/wrangler-dev";

let relay: RelayProcess;

beforeAll(async () => {
  relay = await startRelay({ MAX_STREAM_SECONDS: "1", RETRY_MS: "10000", DIRECT_CHANNEL_PREFIXES: "direct-" });
});

afterAll(async () => {
  await relay?.dispose();
});

it.each([
  ["hibernating", "gap"],
  ["direct", "direct-gap"],
])("%s: an event published after every stream ended, before any reconnect, reaches all 20 once", async (_, channel) => {
  await publishTo(relay.url, channel, { data: "before" }); // the streams start past it
  const listeners: Listener[] = Array.from({ length: 20 }, () => listen(relay.url, channel));
  await Promise.all(listeners.map((listener) => listener.opened));
  // Every stream ends (its lifetime) without having carried an event.
  await until(
    () => listeners.every((listener) => listener.ends() >= 1),
    () => `${listeners.filter((listener) => listener.ends() >= 1).length} of 20 streams ended`,
  );
  // Published into the gap: those still waiting to reconnect can only get it by resuming.
  const waiting = listeners.filter((listener) => listener.opens() === 1).length;
  await publishTo(relay.url, channel, { data: "in the gap" });
  await until(
    () => listeners.every((listener) => listener.received.length >= 1),
    () =>
      `${listeners.filter((listener) => listener.received.length >= 1).length} of 20 got it (${waiting} were waiting)`,
  );
  for (const listener of listeners) listener.close();
  expect(waiting).toBe(20); // the event was published into every stream's gap
  for (const listener of listeners) {
    expect(listener.received.map((event) => [event.id, event.data])).toEqual([["2", "in the gap"]]);
  }
});
