/**
 * Replay is bounded (one cheap `?lastEventId=0` must not make a channel hand
 * out its whole history again and again), and `0` means "whatever you have".
 * Runs in both delivery modes.
 */
import { describe, expect, it } from "vitest";
import { ReplayAllowance, ReplayGate } from "../../src/channel/replay-limits";
import { shouldCut } from "../../src/channel/stall-rule";
import { freshChannel, publishData, subscribe } from "./relay-client";

describe("replay bounds", () => {
  it("a stream ends cleanly once it has replayed REPLAY_MAX_BYTES_PER_STREAM; resuming from its last id gets the rest", async () => {
    const channel = freshChannel();
    // 20 events of 7 KB = 140 KB of history (HISTORY_LIMIT 20) against a 100,000-byte share per stream.
    for (let index = 1; index <= 20; index++) await publishData(channel, `${index}:${"h".repeat(7_000)}`);
    const first = await subscribe(channel, { headers: { "Last-Event-ID": "0" } });
    await first.ended;
    const got = first.events.map((event) => Number(event.id));
    expect(got.length).toBeGreaterThan(0);
    expect(got.length).toBeLessThan(20);
    expect(got).toEqual(got.map((_, index) => index + 1));
    const second = await subscribe(channel, { headers: { "Last-Event-ID": String(got[got.length - 1]) } });
    const rest = await second.waitForEvents(20 - got.length);
    expect([...got, ...rest.map((event) => Number(event.id))]).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    await second.cancel();
  });

  it("more streams than REPLAY_CONCURRENCY (2 in tests) replay at once: the rest wait their turn, none is refused, all catch up", async () => {
    const channel = freshChannel();
    // 18 events of 4 KB: each replay takes several pages of half a 32 KiB budget.
    for (let index = 1; index <= 18; index++) await publishData(channel, `${index}:${"q".repeat(4_000)}`);
    const streams = await Promise.all(
      [1, 2, 3, 4, 5].map(() => subscribe(channel, { headers: { "Last-Event-ID": "0" } })),
    );
    for (const stream of streams) {
      const events = await stream.waitForEvents(18);
      expect(events.map((event) => Number(event.id))).toEqual(Array.from({ length: 18 }, (_, i) => i + 1));
    }
    await Promise.all(streams.map((stream) => stream.cancel()));
  });

  it("?lastEventId=0 on a channel whose history was pruned gets what is retained, without relay.lost", async () => {
    const channel = freshChannel();
    for (let index = 1; index <= 25; index++) await publishData(channel, `e${index}`); // HISTORY_LIMIT 20: 1–5 pruned
    const stream = await subscribe(channel, { query: "lastEventId=0" });
    const events = await stream.waitForEvents(20);
    expect(events.map((event) => event.event ?? "message")).not.toContain("relay.lost");
    expect(events.map((event) => event.id)).toEqual(Array.from({ length: 20 }, (_, i) => String(i + 6)));
    await stream.cancel();
    // A real id that was pruned still says so.
    const resumed = await subscribe(channel, { headers: { "Last-Event-ID": "2" } });
    const [first] = await resumed.waitForEvents(1);
    expect(first?.event).toBe("relay.lost");
    await resumed.cancel();
  });
});

describe("ReplayAllowance and ReplayGate (pure)", () => {
  it("a stream gets a second's worth of bytes, then waits for the bucket to refill, and ends at its total", () => {
    const allowance = new ReplayAllowance({ bytesPerSecond: 1_000, maxBytesPerStream: 2_500 }, 0);
    expect(allowance.check(1_000, 0)).toEqual({ ok: true });
    allowance.took(1_000);
    expect(allowance.check(500, 0)).toEqual({ waitMs: 500 });
    expect(allowance.check(500, 500)).toEqual({ ok: true });
    allowance.took(500);
    // A page bigger than a second's worth passes a full bucket, so a large event never starves.
    expect(allowance.check(5_000, 1_500)).toEqual({ ok: true });
    allowance.took(1_000);
    expect(allowance.check(1, 10_000)).toEqual({ exhausted: true });
  });

  it("at most `concurrency` streams catch up at once; the others wait, and a slot frees when one leaves or goes quiet", () => {
    const gate = new ReplayGate(2);
    expect(gate.enter("a", 0)).toBe(0);
    expect(gate.enter("b", 0)).toBe(0);
    expect(gate.enter("c", 0)).toBeGreaterThan(0);
    expect(gate.enter("a", 100)).toBe(0); // a holder keeps its lease
    gate.leave("a");
    expect(gate.enter("c", 100)).toBe(0);
    expect(gate.enter("d", 200)).toBeGreaterThan(0);
    expect(gate.enter("d", 5_000)).toBe(0); // b and c went quiet: their leases lapsed
  });

  it("waiting streams get their turn in the order they came, whoever asks first", () => {
    const gate = new ReplayGate(1);
    expect(gate.enter("a", 0)).toBe(0);
    expect(gate.enter("b", 10)).toBe(100); // first in line
    expect(gate.enter("c", 20)).toBe(200); // second in line: told to ask later
    gate.leave("a");
    expect(gate.enter("c", 30)).toBeGreaterThan(0); // c asks first, but b came first
    expect(gate.enter("b", 40)).toBe(0);
    gate.leave("b");
    expect(gate.enter("c", 50)).toBe(0);
  });
});

describe("the stall rule (pure)", () => {
  const onTime = { lateMs: 0, intervalMs: 100 };
  it.each([
    // stalled ticks, tick, stalled clients, clients, cut?
    [2, onTime, 1, 10, true], // one client's dead streams, however many
    [1, onTime, 1, 10, false], // stalled for one tick only: maybe just behind
    [2, onTime, 2, 30, true], // two of thirty: not more than a tenth
    [2, onTime, 2, 10, false], // two of ten clients stalled at once: the process is behind
    [2, { lateMs: 150, intervalMs: 100 }, 1, 10, false], // the tick itself ran late
    [5, onTime, 9, 10, false],
    [6, onTime, 9, 10, true], // MAX_STALLED_TICKS: reaped whatever else is stalled
  ])("%i stalled ticks, %o, %i of %i clients stalled → cut: %s", (ticks, tick, stalledClients, clients, cut) => {
    expect(shouldCut(ticks, tick, stalledClients, clients)).toBe(cut);
  });
});
