/**
 * A stream's ticks in both delivery modes, on a fake clock (no real
 * seconds): heartbeats on an idle stream, the cut of a stream that drains
 * nothing while data waits (src/stream/stall-rule.ts), and the lifetime's
 * clean end, presence frames' charge. Direct mode: DirectStreams in a channel object's storage.
 * Hibernating mode: the Worker's BridgedStream against a scripted channel
 * object (./scripted-channel.ts). src/stream/outlet.ts underneath both has
 * its own tests in test/unit/stream/outlet.test.ts.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { CLOSE_CODES } from "../../src/protocol/bridge-protocol";
import { type DirectSettings, DirectStreams } from "../../src/channel/direct-streams";
import { ChannelHistory } from "../../src/channel/history";
import { ReplayGate } from "../../src/channel/replay-limits";
import { encodePresenceMessage, presenceFrame } from "../../src/channel/presence";
import { openBridgedStream } from "../../src/edge/bridged-stream";
import { CPU_MODEL, deliveryCostMicros } from "../../src/edge/cpu-model";
import { log } from "../../src/log";
import type { ClosedStreams } from "../../src/stream/close-reasons";
import { tickIntervalMs } from "../../src/stream/outlet";
import { FakeClock } from "../support/fake-clock";
import { freshChannel } from "./relay-client";
import { collect, scriptedChannel, until } from "./scripted-channel";

const HEARTBEAT_MS = 1_000;
const TICK = tickIntervalMs(HEARTBEAT_MS);
/** For lifetime tests: no tick before the end (the fake clock runs timers without yielding to readers). */
const NO_TICKS = 3_600_000;
const REPLAY = { bytesPerSecond: 1e9, maxBytesPerStream: 1e9, concurrency: 4 };

/** Runs `test` with direct streams on a fake clock, in a channel object's storage. */
async function withDirect(
  settings: Partial<DirectSettings>,
  test: (streams: DirectStreams, clock: FakeClock, closed: ClosedStreams) => Promise<void>,
) {
  const stub = env.CHANNELS.get(env.CHANNELS.idFromName(freshChannel()));
  await runInDurableObject(stub, async (_instance, state) => {
    const clock = new FakeClock();
    const closed: ClosedStreams = { overflow: 0, stalled: 0, expired: 0 };
    const streams = new DirectStreams(
      new ChannelHistory(state.storage, 100),
      {
        retryMs: 500,
        heartbeatMs: HEARTBEAT_MS,
        streamBufferBytes: 65_536,
        maxStreamSeconds: 3_600,
        replay: REPLAY,
        ...settings,
      },
      { deliveredId: () => 0, closed, replayGate: new ReplayGate(REPLAY.concurrency), log, clock },
    );
    await test(streams, clock, closed);
  });
}

/** A bridged stream on a fake clock, attached to a scripted channel that says hello at 0. */
async function bridged({ closeInMs = 3_600_000, heartbeatMs = HEARTBEAT_MS, cpuBudgetMs = 1e9 } = {}) {
  const clock = new FakeClock();
  const channel = scriptedChannel();
  const opening = openBridgedStream(
    channel.target,
    undefined,
    {
      retryMs: 500,
      heartbeatMs,
      bufferBytes: 65_536,
      cpuBudgetMs,
      closeAt: clock.now() + closeInMs,
      maxSubscribers: 10,
      replay: REPLAY,
      clock,
    },
    undefined,
  );
  channel.server.send(JSON.stringify({ t: "hello", last: 0, subscribers: 1 }));
  const response = await opening;
  expect(response?.status).toBe(200);
  return { ...channel, clock, body: response!.body! };
}

describe("direct mode, on a fake clock", () => {
  it("an idle stream gets heartbeats; one that drains nothing is cut at its second stalled tick", async () => {
    await withDirect({}, async (streams, clock, closed) => {
      const reading = collect(streams.open(undefined, null).stream);
      streams.open(undefined, null); // never read: its opening bytes wait
      clock.advance(TICK);
      expect([streams.size, closed.stalled]).toEqual([2, 0]); // one stalled tick is not enough
      clock.advance(TICK);
      expect([streams.size, closed.stalled]).toEqual([1, 1]);
      expect(await until(() => reading.text.includes(": heartbeat\n\n"))).toBe(true);
      expect(reading.ended).toBe(false);
    });
  });

  it("streams of many clients stalled at once are not cut at the second tick (the process looks behind), but are at MAX_STALLED_TICKS", async () => {
    await withDirect({}, async (streams, clock, closed) => {
      const reading = collect(streams.open(undefined, null, "reader").stream);
      // Three clients whose streams never read: their opening bytes wait.
      for (const client of ["192.0.2.11", "192.0.2.12", "192.0.2.13"]) streams.open(undefined, null, client);
      for (let tick = 1; tick < 6; tick++) {
        clock.advance(TICK);
        expect([tick, streams.size, closed.stalled]).toEqual([tick, 4, 0]);
      }
      clock.advance(TICK); // the sixth stalled tick: no exemption lasts
      expect([streams.size, closed.stalled]).toEqual([1, 3]);
      expect(reading.ended).toBe(false);
    });
  });

  it("ends a stream cleanly at MAX_STREAM_SECONDS; the heartbeat stops with the last stream", async () => {
    await withDirect({ maxStreamSeconds: 30, heartbeatMs: NO_TICKS }, async (streams, clock, closed) => {
      const reading = collect(streams.open(undefined, null).stream);
      clock.advance(29_999);
      expect(closed.expired).toBe(0);
      clock.advance(1);
      expect([streams.size, closed.expired]).toEqual([0, 1]);
      expect(clock.pending).toBe(0);
      expect(await until(() => reading.ended)).toBe(true);
    });
  });
  it("a slow reader holds one presence frame, the newest count", async () => {
    await withDirect({}, async (streams) => {
      const subscriber = streams.open(undefined, null); // not read yet: the counts wait behind its opening
      for (let subscribers = 1; subscribers <= 100; subscribers++) {
        streams.sendPresence("room", presenceFrame({ channel: "room", subscribers }));
      }
      const reading = collect(subscriber.stream);
      expect(await until(() => reading.text.includes("relay.presence"))).toBe(true);
      expect(reading.text.match(/relay\.presence/g)).toHaveLength(1);
      expect(reading.text).toContain('"subscribers":100}');
    });
  });
});

describe("hibernating mode (the Worker's stream), on a fake clock", () => {
  it("an idle stream gets a heartbeat at a tick with nothing written since the last", async () => {
    const { body, clock, closes } = await bridged();
    const reading = collect(body);
    expect(await until(() => reading.text.includes("event: relay.position"))).toBe(true);
    clock.advance(TICK); // the opening was written since the stream began: no comment needed yet
    clock.advance(TICK);
    expect(await until(() => reading.text.endsWith(": heartbeat\n\n"))).toBe(true);
    expect(closes).toEqual([]);
    await reading.cancel(); // the client goes: the upstream socket is released
    expect(await until(() => closes.length === 1)).toBe(true);
    expect(clock.pending).toBe(0);
  });

  it("a stream that drains nothing is cut at its second stalled tick, releasing its upstream", async () => {
    const { body, clock, closes } = await bridged(); // never read: its opening bytes wait
    clock.advance(TICK);
    expect(closes).toEqual([]);
    clock.advance(TICK);
    expect(await until(() => closes.length === 1)).toBe(true);
    expect(closes).toEqual([CLOSE_CODES.stalled]);
    expect(clock.pending).toBe(0);
    // Whole frames only: the opening, then the end (the backlog, if any, is dropped).
    const reading = collect(body);
    expect(await until(() => reading.ended)).toBe(true);
    expect(reading.text.endsWith("event: relay.position\ndata: \n\n")).toBe(true);
  });

  it("ends cleanly at its lifetime (or token expiry), on the clock", async () => {
    const { body, closes, clock } = await bridged({ closeInMs: 30_000, heartbeatMs: NO_TICKS });
    const reading = collect(body);
    clock.advance(29_999);
    expect(closes).toEqual([]);
    clock.advance(1);
    expect(await until(() => reading.ended)).toBe(true);
    expect(await until(() => closes.length === 1)).toBe(true);
    expect(closes).toEqual([CLOSE_CODES.expired]);
    expect(clock.pending).toBe(0);
  });

  it("a presence count every tick costs a heartbeat each: the stream outlives the old charge, then rotates", async () => {
    const budgetMs = 5; // STREAM_CPU_BUDGET_MS's default
    const { body, clock, server, closes } = await bridged({ cpuBudgetMs: budgetMs });
    const reading = collect(body);
    const channel = "scripted";
    // A join or a leave every tick: the channel sends the new count (throttled to one per interval).
    const seen = (subscribers: number) => reading.text.includes(`"subscribers":${subscribers}}`);
    // Before: each frame was charged as a delivery, and the stream rotated after this many.
    const frameBytes = presenceFrame({ channel, subscribers: 100 }).byteLength;
    const oldLimit = Math.ceil((budgetMs * 1000) / deliveryCostMicros(frameBytes));
    const newLimit = Math.ceil((budgetMs * 1000) / CPU_MODEL.heartbeatMicros);
    expect(newLimit).toBeGreaterThan(5 * oldLimit);
    for (let n = 1; n <= 2 * oldLimit; n++) {
      server.send(encodePresenceMessage({ channel, subscribers: n }));
      expect(await until(() => seen(n))).toBe(true);
      clock.advance(TICK);
    }
    expect([reading.ended, closes]).toEqual([false, []]);
    for (let n = 2 * oldLimit + 1; n <= newLimit; n++) {
      server.send(encodePresenceMessage({ channel, subscribers: n }));
      expect(await until(() => seen(n))).toBe(true);
      clock.advance(TICK);
    }
    // The frame that spends the budget is the stream's last: a clean end, the browser reconnects.
    expect(await until(() => reading.ended)).toBe(true);
    expect(closes).toEqual([CLOSE_CODES.rotated]);
    expect(clock.pending).toBe(0);
  });
});
