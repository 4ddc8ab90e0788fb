/** Direct mode: the channel object holds the streams and reports their unsent bytes (hibernating/bridge.test.ts has the Worker-side case). */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { BASE, freshChannel, publishData, stats, subscribe } from "../relay-client";
import { eventually } from "../sse-reader";

describe("direct mode", () => {
  it("a subscriber that stops reading is cut off; the others get every event", async () => {
    const channel = freshChannel();
    const healthy = await subscribe(channel);
    // Opened but never read: its unsent bytes pile up in the channel object.
    const stuck = await SELF.fetch(`${BASE}/v1/channels/${channel}/events`);
    expect(stuck.status).toBe(200);
    await eventually(async () => (await stats(channel)).subscribers === 2);

    const payload = "x".repeat(4_000); // STREAM_BUFFER_BYTES is 32768 in tests
    const count = 40;
    let peakBuffered = 0;
    for (let index = 0; index < count; index++) {
      await publishData(channel, `${index}:${payload}`);
      peakBuffered = Math.max(peakBuffered, (await stats(channel)).bufferedBytes ?? 0);
    }
    // Bounded: at most the budget plus one frame for the stuck stream (the healthy one drains).
    expect(peakBuffered).toBeGreaterThan(0);
    expect(peakBuffered).toBeLessThanOrEqual(32_768 + 2 * 4_100);

    const events = await healthy.waitForEvents(count);
    expect(events.map((event) => event.data.split(":")[0])).toEqual(
      Array.from({ length: count }, (_, index) => String(index)),
    );
    await eventually(async () => (await stats(channel)).subscribers === 1);
    const closed = (await stats(channel)).closedStreams;
    expect(closed.overflow + closed.stalled).toBe(1);

    // The cut stream ends instead of hanging, its backlog dropped: whole events only, fewer than were
    // published (its browser reconnects and replays the rest). The body is closed, not errored: workerd
    // ends an errored body cleanly anyway (workerd#6818), after logging an uncaught rejection.
    const reader = stuck.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    expect(text.endsWith("\n\n")).toBe(true);
    // Events only: the stream's resume point (relay.position) carries an id too.
    const delivered = [...text.matchAll(/^id: (\d+)\n(?!event: relay\.position\n)/gm)].map((match) => match[1]);
    expect(delivered.length).toBeLessThan(count);
    expect(delivered).toEqual(events.slice(0, delivered.length).map((event) => event.id));
    await healthy.cancel();
  });
});
