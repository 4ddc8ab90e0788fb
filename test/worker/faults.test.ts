/**
 * Faults inside workerd, each ending with a check that the subscriber got
 * every accepted event exactly once, in order.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { DELIVERY_MODE, freshChannel, publish, subscribe } from "./relay-client";

describe("faults", () => {
  // evictDurableObject() waits until the object has no open streams, so it cannot cut one; ctx.abort()
  // resets the object at once, which is what an eviction, a crash or a redeploy does to live streams.
  it("the channel object reset mid-stream: the client resumes with Last-Event-ID and misses nothing", async () => {
    const channel = freshChannel("evict");
    const stub = env.CHANNELS.get(env.CHANNELS.idFromName(channel));
    const accepted: string[] = [];
    const received: { id: string; data: string }[] = [];
    const publishOne = async (data: string) => {
      const response = await publish(channel, { data });
      if (response.status === 201) accepted.push(((await response.json()) as { id: string }).id);
      else await response.arrayBuffer();
    };

    let stream = await subscribe(channel);
    for (let n = 1; n <= 5; n++) await publishOne(`e${n}`);
    await stream.waitForEvents(5);

    // Reset while publishes are in flight: some may fail (not accepted), none may be lost once accepted.
    const inFlight = Promise.all([6, 7, 8].map((n) => publishOne(`e${n}`)));
    await runInDurableObject(stub, (_instance, state) => state.abort("simulated eviction")).catch(() => {});
    await inFlight;
    if (DELIVERY_MODE === "direct") {
      await stream.ended; // the reset cut the stream
      received.push(...stream.events.map((event) => ({ id: event.id!, data: event.data })));
      // Resume as EventSource would, from the last id it saw.
      const lastId = received[received.length - 1]!.id;
      stream = await subscribe(channel, { headers: { "Last-Event-ID": lastId } });
    }
    // Hibernating: the Worker holds the stream and re-dials the object with its cursor; the same stream goes on.
    for (let n = 9; n <= 12; n++) await publishOne(`e${n}`);
    const after = await stream.waitForEvents(Math.max(...accepted.map(Number)) - received.length);
    received.push(...after.map((event) => ({ id: event.id!, data: event.data })));
    if (DELIVERY_MODE === "hibernating") expect(stream.events.length).toBe(received.length); // one stream throughout
    await stream.cancel();

    // Every accepted event arrived; ids are 1..N with no gap and no duplicate, in order.
    const receivedIds = received.map((event) => event.id);
    for (const id of accepted) expect(receivedIds).toContain(id);
    expect(received.map((event) => Number(event.id))).toEqual(received.map((_, index) => index + 1));
    expect(accepted.length).toBeGreaterThanOrEqual(9);
  });
});
