import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { BASE, freshChannel, publishData, stats, subscribe } from "./relay-client";
import { eventually } from "./sse-reader";

describe("subscriber lifecycle", () => {
  it("counts a subscriber out promptly when its client goes away", async () => {
    const channel = freshChannel();
    const streams = await Promise.all([1, 2, 3].map(() => subscribe(channel)));
    expect((await stats(channel)).subscribers).toBe(3);
    await streams[0]!.cancel();
    // Heartbeat is 200 ms in tests: the count must be right within one interval.
    await eventually(async () => (await stats(channel)).subscribers === 2, 400);
    await Promise.all(streams.slice(1).map((stream) => stream.cancel()));
    await eventually(async () => (await stats(channel)).subscribers === 0, 400);
  });

  it("a subscriber that stops reading is cut off; the others get every event", async () => {
    const channel = freshChannel();
    const healthy = await subscribe(channel);
    // Opened but never read: its unsent bytes pile up in the channel object.
    const stuck = await SELF.fetch(`${BASE}/v1/channels/${channel}/events`);
    expect(stuck.status).toBe(200);
    await eventually(async () => (await stats(channel)).subscribers === 2);

    const payload = "x".repeat(4_000); // MAX_BUFFERED_BYTES is 32768 in tests
    const count = 40;
    let peakBuffered = 0;
    for (let index = 0; index < count; index++) {
      await publishData(channel, `${index}:${payload}`);
      peakBuffered = Math.max(peakBuffered, (await stats(channel)).bufferedBytes);
    }
    // Bounded: at most the budget plus one frame for the stuck stream (the healthy one drains).
    expect(peakBuffered).toBeGreaterThan(0);
    expect(peakBuffered).toBeLessThanOrEqual(32_768 + 2 * 4_100);

    const events = await healthy.waitForEvents(count);
    expect(events.map((event) => event.data.split(":")[0])).toEqual(Array.from({ length: count }, (_, index) => String(index)));
    await eventually(async () => (await stats(channel)).subscribers === 1, 2_000);

    // The cut stream ends (with an error) instead of hanging; its browser would reconnect and replay.
    const reader = stuck.body!.getReader();
    let received = 0;
    const outcome = await (async () => {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return "closed";
          received += value.byteLength;
        }
      } catch {
        return "errored";
      }
    })();
    expect(["closed", "errored"]).toContain(outcome);
    expect(received).toBeLessThan(count * payload.length);
    await healthy.cancel();
  });

  it("a stream that drains nothing for a heartbeat interval is treated as gone (stalled)", async () => {
    const channel = freshChannel();
    const stuck = await SELF.fetch(`${BASE}/v1/channels/${channel}/events`);
    await eventually(async () => (await stats(channel)).subscribers === 1);
    // 24 KB in all, under the 32 KiB budget: overflow cannot be what removes it, only the stall check.
    for (let index = 0; index < 6; index++) await publishData(channel, "y".repeat(4_000));
    await eventually(async () => (await stats(channel)).subscribers === 0, 2_000);
    await stuck.body?.cancel().catch(() => {});
  });

  it("a cut subscriber resumes from its last id without losing anything", async () => {
    const channel = freshChannel();
    await publishData(channel, "one");
    await publishData(channel, "two");
    const first = await subscribe(channel, { query: "lastEventId=0" });
    const got = await first.waitForEvents(2);
    await first.cancel();
    await publishData(channel, "three");
    const resumed = await subscribe(channel, { headers: { "Last-Event-ID": got[1]!.id! } });
    expect((await resumed.waitForEvents(1))[0]).toMatchObject({ id: "3", data: "three" });
    await resumed.cancel();
  });
});
