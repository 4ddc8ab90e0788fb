/**
 * The stream outlet on its own (src/stream/outlet.ts), on a fake clock: what
 * it writes first, what a heartbeat tick writes, when it calls a stream
 * stalled, its lifetime and CPU budget, its backlog, presence frames
 * (writeLatest), and how each kind of end looks.
 */
import { describe, expect, it } from "vitest";
import { positionFrame } from "../../../src/events/position-event";
import { presenceFrame } from "../../../src/channel/presence";
import { encodeText } from "../../../src/sse/codec";
import type { CloseReason } from "../../../src/stream/close-reasons";
import { type OutletSettings, StreamOutlet } from "../../../src/stream/outlet";
import { FakeClock } from "../../support/fake-clock";

const SETTINGS: OutletSettings = {
  retryMs: 500,
  bufferBytes: 1_000,
  closeAt: Number.POSITIVE_INFINITY,
  cpuBudgetMicros: Number.POSITIVE_INFINITY,
  heartbeatMicros: 0,
};

function open(settings: Partial<OutletSettings> = {}) {
  const clock = new FakeClock();
  const closed: CloseReason[] = [];
  let cursor = 7;
  const outlet = new StreamOutlet(
    { ...SETTINGS, ...settings, closeAt: clock.now() + (settings.closeAt ?? 1e12) },
    { key: () => String(cursor), frame: () => positionFrame(String(cursor)) },
    clock,
    { onClose: (reason) => closed.push(reason) },
  );
  const reader = outlet.readable.getReader();
  const decoder = new TextDecoder();
  /** Reads what is queued now (a pending read takes each chunk as it is written). */
  const drain = async () => {
    let text = "";
    while (outlet.bufferedBytes > 0) text += decoder.decode((await reader.read()).value);
    return text;
  };
  /** Reads to the end: the text and whether it ended cleanly. */
  const readToEnd = async () => {
    let text = "";
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return { text, end: "clean" };
        text += decoder.decode(value);
      }
    } catch {
      return { text, end: "error" };
    }
  };
  return { outlet, clock, closed, drain, readToEnd, move: (to: number) => (cursor = to) };
}

describe("stream outlet", () => {
  it("opens with the greeting, the notices and the resume point, in one write", async () => {
    const { outlet, drain } = open();
    outlet.open([encodeText("event: relay.lost\ndata: {}\n\n")]);
    expect(await drain()).toBe(
      ": connected\n\nretry: 500\n\nevent: relay.lost\ndata: {}\n\nid: 7\nevent: relay.position\ndata: \n\n",
    );
  });

  it("writes a heartbeat only to a stream that carried nothing since the last tick", async () => {
    const { outlet, drain } = open();
    outlet.tick();
    expect(await drain()).toBe(": heartbeat\n\n");
    outlet.write(encodeText("data: x\n\n"));
    expect(await drain()).toBe("data: x\n\n");
    outlet.tick(); // data flowed since the last tick: no comment needed
    expect(outlet.bufferedBytes).toBe(0);
    outlet.tick(); // idle since: keep-alive again
    expect(await drain()).toBe(": heartbeat\n\n");
  });

  it("reports a stream that drained nothing while data waited as stalled, and leaves closing to its owner", () => {
    const { outlet, closed } = open();
    outlet.write(encodeText("data: never read\n\n"));
    expect(outlet.tick()).toBe(true);
    expect(outlet.tick()).toBe(true);
    expect(outlet.stalledTicks).toBe(2);
    expect(closed).toEqual([]);
  });

  it("an empty queue takes one write of any size; otherwise the budget holds", () => {
    const { outlet } = open();
    expect(outlet.fits(5_000)).toBe(true);
    outlet.write(new Uint8Array(600));
    expect(outlet.fits(400)).toBe(true);
    expect(outlet.fits(401)).toBe(false);
  });

  it("ends cleanly at its lifetime, on the clock, with no timer left", async () => {
    const { outlet, clock, closed, readToEnd } = open({ closeAt: 60_000 });
    outlet.open();
    clock.advance(59_999);
    expect(closed).toEqual([]);
    clock.advance(1);
    expect(closed).toEqual(["expired"]);
    expect(clock.pending).toBe(0);
    expect((await readToEnd()).end).toBe("clean");
  });

  it("a clean end after the position moved past the last id written says where the stream ended", async () => {
    const { outlet, move, readToEnd } = open();
    outlet.open();
    move(9); // e.g. a history page that held only a relay.lost notice
    outlet.close("unavailable");
    const { text, end } = await readToEnd();
    expect(end).toBe("clean");
    expect(text.endsWith("id: 9\nevent: relay.position\ndata: \n\n")).toBe(true);
  });

  it("no second resume point when the last write ended at the position", async () => {
    const { outlet, move, readToEnd } = open();
    outlet.open();
    move(8);
    outlet.write(encodeText("id: 8\ndata: x\n\n"), 0, true);
    outlet.close("expired");
    const { text } = await readToEnd();
    expect(text.match(/relay\.position/g)).toHaveLength(1);
    expect(text.endsWith("id: 8\ndata: x\n\n")).toBe(true);
  });

  it("ends as rotated once its modelled CPU budget is spent", () => {
    const { outlet, closed } = open({ cpuBudgetMicros: 100 });
    outlet.open();
    outlet.write(encodeText("data: a\n\n"), 60);
    expect(closed).toEqual([]);
    outlet.write(encodeText("data: b\n\n"), 60);
    expect(closed).toEqual(["rotated"]);
  });

  it("hands the body one chunk at a time; the rest waits in order and counts as unsent", async () => {
    const { outlet, drain } = open();
    outlet.open();
    const opening = outlet.bufferedBytes;
    outlet.write(encodeText("data: a\n\n"));
    outlet.write(encodeText("data: b\n\n"));
    expect(outlet.bufferedBytes).toBe(opening + 2 * "data: a\n\n".length);
    expect(await drain()).toBe(
      ": connected\n\nretry: 500\n\nid: 7\nevent: relay.position\ndata: \n\ndata: a\n\ndata: b\n\n",
    );
  });

  it("an end that is not clean drops the backlog and closes the body: the client keeps whole frames only", async () => {
    for (const reason of ["disconnected", "overflow", "stalled"] as const) {
      const { outlet, readToEnd, closed } = open();
      outlet.open(); // handed to the body
      outlet.write(encodeText("id: 8\ndata: waits\n\n"));
      outlet.close(reason);
      expect(outlet.bufferedBytes).toBe(0);
      expect(closed).toEqual([reason]);
      // Closed, not errored: an errored body logs an uncaught rejection in workerd and reaches the
      // client as a clean end all the same (workerd#6818).
      expect(await readToEnd()).toEqual({
        text: ": connected\n\nretry: 500\n\nid: 7\nevent: relay.position\ndata: \n\n",
        end: "clean",
      });
    }
    for (const reason of ["expired", "rotated", "unavailable"] as const) {
      const { outlet, readToEnd } = open();
      outlet.open();
      outlet.write(encodeText("data: waits\n\n"));
      outlet.close(reason);
      const { text, end } = await readToEnd();
      expect(end).toBe("clean");
      expect(text.endsWith("data: waits\n\n")).toBe(true);
    }
  });

  it("a slow reader holds one presence frame per channel, the newest, however many counts come", async () => {
    const { outlet, drain } = open();
    outlet.open(); // handed to the body, not read: what follows waits in the backlog
    outlet.write(encodeText("id: 8\ndata: a\n\n"));
    const waiting = outlet.bufferedBytes;
    for (let subscribers = 1; subscribers <= 500; subscribers++) {
      outlet.writeLatest("room", presenceFrame({ channel: "room", subscribers }));
      outlet.writeLatest("hall", presenceFrame({ channel: "hall", subscribers: subscribers * 2 }));
      expect(outlet.bufferedBytes).toBeLessThanOrEqual(
        waiting + presenceFrame({ channel: "room", subscribers }).byteLength * 3,
      );
    }
    outlet.write(encodeText("id: 9\ndata: b\n\n"));
    const text = await drain();
    expect(text.match(/relay\.presence/g)).toHaveLength(2);
    expect(
      text.endsWith(
        'data: a\n\nevent: relay.presence\ndata: {"channel":"room","subscribers":500}\n\n' +
          'event: relay.presence\ndata: {"channel":"hall","subscribers":1000}\n\nid: 9\ndata: b\n\n',
      ),
    ).toBe(true);
    // Once taken, the next count is queued anew.
    outlet.writeLatest("room", presenceFrame({ channel: "room", subscribers: 3 }));
    expect(await drain()).toBe('event: relay.presence\ndata: {"channel":"room","subscribers":3}\n\n');
  });

  it("a presence frame costs a heartbeat, written, replaced or dropped for want of room", async () => {
    const { outlet, closed, drain } = open({ heartbeatMicros: 15, cpuBudgetMicros: 15 * 4 });
    outlet.open();
    const frame = presenceFrame({ channel: "room", subscribers: 1 });
    outlet.writeLatest("room", frame); // queued behind the opening write
    outlet.write(new Uint8Array(900)); // the byte budget is full now
    outlet.writeLatest("room", frame); // replaces the queued one
    outlet.writeLatest("hall", frame); // no room: dropped
    expect(closed).toEqual([]);
    expect((await drain()).match(/relay\.presence/g)).toHaveLength(1);
    outlet.writeLatest("room", frame);
    expect(closed).toEqual(["rotated"]);
  });
});
