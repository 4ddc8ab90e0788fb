/**
 * Hibernating delivery through `wrangler dev` with a real EventSource: the
 * browser's connection stays the same one while the channel's object
 * leaves memory (wrangler dev hibernates idle objects after about 10 s) and
 * while it is restarted (a loopback-only test hook, as a crash or deploy
 * would), and every event arrives exactly once, in order.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { channelStats, listen, publishTo, until } from "../support/sse-client";
import { type RelayProcess, startRelay } from "../support/wrangler-dev";

let relay: RelayProcess;

beforeAll(async () => {
  // Long heartbeats: while idle, nothing but hibernation happens to the object.
  relay = await startRelay({ RELAY_TEST_HOOKS: "true", HEARTBEAT_MS: "60000", STREAM_CPU_BUDGET_MS: "300000" });
});

afterAll(async () => {
  await relay?.dispose();
});

async function startedAt(channel: string): Promise<string> {
  return String((await channelStats(relay.url, channel)).objectStartedAt);
}

it("an EventSource keeps its connection across the object's hibernation and restart, missing nothing", async () => {
  const channel = `hibernate-${Date.now()}`;
  const listener = listen(relay.url, channel);
  await listener.opened;
  await publishTo(relay.url, channel, { data: "e1" });
  await until(() => listener.received.length === 1);

  // Hibernation: the object is rebuilt once it has been idle long enough. Each look wakes it,
  // so look rarely and wait for the condition (a new instance), not for a fixed time.
  const first = await startedAt(channel);
  await until(
    async () => {
      await new Promise((resolve) => setTimeout(resolve, 12_000));
      return (await startedAt(channel)) !== first;
    },
    () => "the channel object to hibernate and start again",
    90_000,
  );
  await publishTo(relay.url, channel, { data: "e2" });
  await until(() => listener.received.length === 2);

  // Restart: every bridge socket closes; the Worker re-dials with its cursor.
  const restart = await fetch(`${relay.url}/__test/channels/${channel}/restart`, { method: "POST" });
  expect(restart.status).toBe(200);
  for (let n = 3; n <= 6; n++) await publishTo(relay.url, channel, { data: `e${n}` });
  await until(() => listener.received.length === 6);

  listener.close();
  expect(listener.received.map((event) => event.data)).toEqual(["e1", "e2", "e3", "e4", "e5", "e6"]);
  expect(listener.received.map((event) => event.id)).toEqual(["1", "2", "3", "4", "5", "6"]);
  expect(listener.opens()).toBe(1); // one browser connection throughout
}, 150_000);
