/**
 * Faults end to end (wrangler dev + the eventsource client): streams cut by
 * MAX_STREAM_SECONDS, and hundreds of subscribers reconnecting at once
 * with Last-Event-ID after a relay restart. Each ends with a check that
 * every subscriber got every accepted event exactly once, in order.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { listen, publishTo, sleep, until, type Listener } from "../support/sse-client";
import { startRelay, type RelayProcess } from "../support/wrangler-dev";

let relay: RelayProcess;

beforeAll(async () => {
  relay = await startRelay({
    MAX_STREAM_SECONDS: "2",
    RETRY_MS: "300",
    HEARTBEAT_MS: "1000",
    MAX_SUBSCRIBERS_PER_CHANNEL: "1000",
  });
});

afterAll(async () => {
  await relay?.dispose();
});

/**
 * A failure guard for the storm's waits, never a measurement: each wait ends on its condition, and
 * the guard only keeps a broken relay from hanging the run (the test's own timeout is above 3 of them).
 */
const STORM_GUARD_MS = 90_000;

const expectExactly = (listener: Listener, count: number, prefix: string) => {
  expect(listener.received.map((event) => event.data)).toEqual(
    Array.from({ length: count }, (_, i) => `${prefix}${i + 1}`),
  );
  expect(listener.received.map((event) => event.id)).toEqual(Array.from({ length: count }, (_, i) => String(i + 1)));
};

it("a stream ended by MAX_STREAM_SECONDS resumes on its own with Last-Event-ID, losing nothing", async () => {
  const listener = listen(relay.url, "lifetime");
  await listener.opened;
  // Publish steadily until the stream has been ended by its lifetime (and reopened) twice, so
  // events are published across both ends; the pause only paces, nothing is measured.
  let total = 0;
  while (listener.opens() < 3) {
    if (total >= 1_000) throw new Error(`no lifetime end after ${total} events: ${listener.opens()} opens`);
    total += 1;
    await publishTo(relay.url, "lifetime", { data: `tick ${total}` });
    await sleep(50);
  }
  total += 1;
  await publishTo(relay.url, "lifetime", { data: `tick ${total}` }); // the marker: after everything
  await until(
    () => listener.received.some((event) => event.data === `tick ${total}`),
    () => `${listener.received.length} of ${total}`,
  );
  listener.close();
  expectExactly(listener, total, "tick ");
});

it("300 subscribers reconnecting at once after a relay restart each get every event exactly once", async () => {
  const channel = "storm";
  const listeners = Array.from({ length: 300 }, () => listen(relay.url, channel));
  await Promise.all(listeners.map((listener) => listener.opened));
  for (let n = 1; n <= 5; n++) await publishTo(relay.url, channel, { data: `e${n}` });
  await until(
    () => listeners.every((listener) => listener.received.length === 5),
    () => `first five at ${listeners.filter((listener) => listener.received.length === 5).length} of 300`,
    STORM_GUARD_MS,
  );

  await relay.stop();
  await relay.restart();
  // All 300 come back at about the same moment, each with its Last-Event-ID.
  for (let n = 6; n <= 10; n++) await publishTo(relay.url, channel, { data: `e${n}` });
  await until(
    () => listeners.every((listener) => listener.received.length >= 10),
    () => `${listeners.filter((listener) => listener.received.length >= 10).length} of 300 complete`,
    STORM_GUARD_MS,
  );
  await publishTo(relay.url, channel, { data: "e11" }); // the marker: live, after anything replayed
  await until(
    () => listeners.every((listener) => listener.received.some((event) => event.data === "e11")),
    () =>
      `${listeners.filter((listener) => listener.received.some((event) => event.data === "e11")).length} of 300 got the marker`,
    STORM_GUARD_MS,
  );
  for (const listener of listeners) listener.close();
  for (const listener of listeners) expectExactly(listener, 11, "e");
  expect(listeners.every((listener) => listener.opens() >= 2)).toBe(true);
}, 300_000);
