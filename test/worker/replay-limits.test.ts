/**
 * Replay is bounded (one cheap `?lastEventId=0` must not make a channel hand
 * out its whole history again and again), and `0` means "whatever you have".
 * Runs in both delivery modes.
 */
import { describe, expect, it } from "vitest";
import { env } from "cloudflare:test";
import { type CatchUp, ReplayAllowance, ReplayGate } from "../../src/channel/replay-limits";
import { shouldCut } from "../../src/stream/stall-rule";
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

  /** A catch-up `behind` events back, more than a page: it goes through the gate. */
  const far = (behind: number, client: unknown = Symbol()): CatchUp => ({ client, behind, lastPage: false });

  it("at most `concurrency` streams catch up at once; the others wait, and a slot frees when one leaves or goes quiet", () => {
    const gate = new ReplayGate(2);
    expect(gate.enter("a", far(100), 0)).toBe(0);
    expect(gate.enter("b", far(100), 0)).toBe(0);
    expect(gate.enter("c", far(100), 0)).toBeGreaterThan(0);
    expect(gate.enter("a", far(100), 100)).toBe(0); // a holder keeps its slot
    gate.leave("a");
    expect(gate.enter("c", far(100), 100)).toBe(0);
    expect(gate.enter("d", far(100), 200)).toBeGreaterThan(0);
    expect(gate.enter("d", far(100), 5_000)).toBe(0); // b and c went quiet: their slots lapsed
  });

  it("streams as far behind wait their turn in the order they came, whoever asks first", () => {
    const gate = new ReplayGate(1);
    expect(gate.enter("a", far(100), 0)).toBe(0);
    expect(gate.enter("b", far(100), 10)).toBe(100); // first in line
    expect(gate.enter("c", far(100), 20)).toBe(200); // second in line: told to ask later
    gate.leave("a");
    expect(gate.enter("c", far(100), 30)).toBeGreaterThan(0); // c asks first, but b came first
    expect(gate.enter("b", far(100), 40)).toBe(0);
    gate.leave("b");
    expect(gate.enter("c", far(100), 50)).toBe(0);
  });

  it("a stream with nothing to read passes at once and takes no slot", () => {
    const gate = new ReplayGate(1);
    expect(gate.enter("reader", far(1_000), 0)).toBe(0);
    expect(gate.enter("waiter", far(1_000), 0)).toBeGreaterThan(0);
    expect(gate.enter("live", { client: "x", behind: 0, lastPage: false }, 10)).toBe(0);
    expect(gate.enter("reader", far(990), 20)).toBe(0); // the slot is still the reader's
    expect(gate.enter("waiter", far(1_000), 30)).toBeGreaterThan(0);
  });

  it("a catch-up that ends with this page (a resume a few events back) is served at once, even with every slot taken and a queue", () => {
    const gate = new ReplayGate(2);
    for (const stream of ["a", "b"]) expect(gate.enter(stream, far(1_000), 0)).toBe(0);
    for (const stream of ["c", "d", "e"]) expect(gate.enter(stream, far(1_000), 0)).toBeGreaterThan(0);
    expect(gate.enter("resume", { client: "x", behind: 3, lastPage: true }, 10)).toBe(0);
    // It held nothing: the holders keep their slots and the queue its order.
    expect(gate.enter("a", far(990), 20)).toBe(0);
    expect(gate.enter("b", far(990), 20)).toBe(0);
    expect(gate.enter("c", far(1_000), 30)).toBeGreaterThan(0);
  });

  it("the fewest events behind go first, not the first to come", () => {
    const gate = new ReplayGate(1);
    expect(gate.enter("all", far(1_000), 0)).toBe(0);
    expect(gate.enter("long", far(900), 10)).toBeGreaterThan(0);
    expect(gate.enter("short", far(80), 20)).toBe(100); // first in line although it came later
    expect(gate.enter("all", far(990), 30)).toBeGreaterThan(0); // the holder gives way
    gate.leave("all");
    expect(gate.enter("long", far(900), 40)).toBeGreaterThan(0); // asks first, but goes second
    expect(gate.enter("short", far(80), 50)).toBe(0);
  });

  it("a holder far behind yields its slot to a shorter catch-up at its next ask, and gets it back after", () => {
    const gate = new ReplayGate(1);
    expect(gate.enter("long", far(1_000), 0)).toBe(0);
    expect(gate.enter("short", far(100), 10)).toBe(100); // ranked first; the slot is still long's
    expect(gate.enter("long", far(990), 20)).toBeGreaterThan(0); // sent back to wait
    expect(gate.enter("short", far(100), 110)).toBe(0);
    expect(gate.enter("long", far(990), 120)).toBeGreaterThan(0);
    gate.leave("short");
    expect(gate.enter("long", far(990), 200)).toBe(0);
  });

  it("no client holds more than its share: its fair part when several want slots, any slots left unused otherwise", () => {
    const gate = new ReplayGate(4);
    // One client alone may use every slot.
    for (const n of [1, 2, 3, 4]) expect(gate.enter(`a${n}`, far(10 * n, "A"), 0)).toBe(0);
    expect(gate.enter("a5", far(50, "A"), 0)).toBeGreaterThan(0);
    // B comes, further behind than all of A's: still gets a slot, at the expense of A's furthest holder.
    expect(gate.enter("b1", far(1_000, "B"), 10)).toBe(100);
    expect(gate.enter("a4", far(40, "A"), 20)).toBeGreaterThan(0);
    expect(gate.enter("b1", far(1_000, "B"), 30)).toBe(0);
    for (const n of [1, 2, 3]) expect(gate.enter(`a${n}`, far(10 * n, "A"), 40)).toBe(0); // A keeps 3 of 4
    // B opens more streams: now each client has half (ceil(4 / 2)).
    expect(gate.enter("b2", far(1_000, "B"), 50)).toBe(100);
    expect(gate.enter("a3", far(30, "A"), 60)).toBeGreaterThan(0);
    expect(gate.enter("b2", far(1_000, "B"), 70)).toBe(0);
    expect(gate.enter("b3", far(1, "B"), 80)).toBeGreaterThan(0); // B at its share, however short this one
    expect(gate.enter("a1", far(10, "A"), 90)).toBe(0);
    expect(gate.enter("a2", far(20, "A"), 90)).toBe(0);
  });

  it("no starvation: shorter catch-ups go first, but one catching up for 5 s takes the reserved slot and keeps it to the end", () => {
    const gate = new ReplayGate(1);
    let now = 0;
    expect(gate.enter("short-0", far(50), now)).toBe(0);
    expect(gate.enter("big", far(1_000), now)).toBeGreaterThan(0);
    // A shorter catch-up comes every 100 ms: each is served before the big one while that is young.
    let n = 0;
    while (now < 4_900) {
      now += 100;
      gate.leave(`short-${n}`);
      n += 1;
      expect(gate.enter(`short-${n}`, far(50), now)).toBe(0);
      expect(gate.enter("big", far(1_000), now)).toBeGreaterThan(0);
    }
    expect(n).toBe(49);
    // 5 s old: the reserved slot is its own, and the next short one waits.
    now += 100;
    gate.leave(`short-${n}`);
    expect(gate.enter("late", far(5), now)).toBeGreaterThan(0);
    expect(gate.enter("big", far(1_000), now)).toBe(0);
    // It keeps the slot page after page, however short the newcomers (who keep asking), until it has caught up.
    const newcomers = ["late"];
    for (let behind = 990; behind > 0; behind -= 10) {
      now += 100;
      newcomers.push(`newcomer-${behind}`);
      for (const newcomer of newcomers) expect(gate.enter(newcomer, far(5), now)).toBeGreaterThan(0);
      expect(gate.enter("big", far(behind), now)).toBe(0);
    }
    gate.leave("big");
    expect(gate.enter("newcomer-10", far(5), now + 100)).toBeGreaterThan(0);
    expect(gate.enter("late", far(5), now + 100)).toBe(0); // then the oldest waiting, now overdue itself
  });

  it("a holder that stops asking loses its slot after 2 s; a waiter that stops asking is forgotten 2 s after it was due back", () => {
    const gate = new ReplayGate(1);
    expect(gate.enter("holder", far(500), 0)).toBe(0);
    expect(gate.enter("ghost", far(5), 0)).toBe(100); // ranked first, told to come back in 100 ms; never does
    expect(gate.enter("holder", far(490), 50)).toBeGreaterThan(0); // gave way to the ghost
    expect(gate.enter("holder", far(490), 2_000)).toBeGreaterThan(0);
    expect(gate.enter("holder", far(490), 2_150)).toBe(0); // the ghost is forgotten (0 + 100 + 2,000)
    expect(gate.enter("other", far(600), 3_000)).toBeGreaterThan(0);
    expect(gate.enter("other", far(600), 4_100)).toBeGreaterThan(0); // holder asked at 2,150: its slot holds to 4,150
    expect(gate.enter("other", far(600), 4_200)).toBe(0);
  });
});

describe("the replay gate through the channel object (readPage)", () => {
  it("with every slot taken, a stream with nothing to read and one a page from the head are answered at once; the queue is untouched", async () => {
    const channel = freshChannel();
    for (let index = 1; index <= 20; index++) await publishData(channel, `${index}:${"p".repeat(3_000)}`);
    const stub = env.CHANNELS.get(env.CHANNELS.idFromName(channel));
    // REPLAY_CONCURRENCY is 2 in tests: two readers from 0 hold the slots, a third waits.
    expect((await stub.readPage(0, 8_192, "big-1")).waitMs).toBe(0);
    expect((await stub.readPage(0, 8_192, "big-2")).waitMs).toBe(0);
    expect((await stub.readPage(0, 8_192, "big-3")).waitMs).toBeGreaterThan(0);
    const live = await stub.readPage(20, 8_192, "live");
    expect(live).toMatchObject({ waitMs: 0, cursor: 20, last: 20 });
    const near = await stub.readPage(18, 8_192, "near");
    expect(near).toMatchObject({ waitMs: 0, cursor: 20 });
    expect(new TextDecoder().decode(near.bytes)).toContain("id: 19\n");
    expect((await stub.readPage(0, 8_192, "big-3")).waitMs).toBeGreaterThan(0);
  });

  it("the client key passed to readPage caps a client's slots: a second client takes one of the first's two", async () => {
    const channel = freshChannel();
    for (let index = 1; index <= 20; index++) await publishData(channel, `${index}:${"p".repeat(3_000)}`);
    const stub = env.CHANNELS.get(env.CHANNELS.idFromName(channel));
    expect((await stub.readPage(0, 8_192, "a-1", "client-a")).waitMs).toBe(0);
    expect((await stub.readPage(0, 8_192, "a-2", "client-a")).waitMs).toBe(0); // alone, a client may use both
    expect((await stub.readPage(0, 8_192, "b-1", "client-b")).waitMs).toBeGreaterThan(0); // ranked in, slot still taken
    expect((await stub.readPage(0, 8_192, "a-2", "client-a")).waitMs).toBeGreaterThan(0); // over its share: gives way
    const page = await stub.readPage(0, 8_192, "b-1", "client-b");
    expect(page.waitMs).toBe(0);
    expect(page.cursor).toBeGreaterThan(0);
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
