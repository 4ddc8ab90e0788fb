/**
 * One channel's feed (src/edge/channel-feed.ts) against a scripted channel
 * object, deterministic: the test decides when the object's socket sends and
 * when a history read answers. A batch that follows on from the cursor is
 * written at once, even while a history read is in flight (live events are
 * never held back behind a wait for history); the read's page, which now
 * overlaps, is dropped and asked again from the new cursor; nothing is
 * written twice or out of order.
 */
import { describe, expect, it } from "vitest";
import { encodeBatch } from "../../../src/protocol/bridge-protocol";
import { ChannelFeed, type Outlet } from "../../../src/edge/channel-feed";
import { frames, scriptedChannel, until as eventually } from "../scripted-channel";

function recordingOutlet(cursors: () => readonly number[]) {
  const written: string[] = [];
  const decoder = new TextDecoder();
  const outlet: Outlet = {
    closed: false,
    get cursors() {
      return cursors();
    },
    bufferedBytes: 0,
    fits: () => true,
    write: (bytes) => void written.push(decoder.decode(bytes)),
    writeLatest: (_key, bytes) => void written.push(decoder.decode(bytes)),
    room: async () => {},
    sleep: async () => {},
    after: () => {},
    close: () => {},
  };
  return { outlet, ids: () => [...written.join("").matchAll(/^id: (\d+)$/gm)].map((match) => Number(match[1])) };
}

const until = async (condition: () => boolean) => expect(await eventually(condition)).toBe(true);

describe("a feed catching up from history", () => {
  it("writes a batch that follows on while its history read is in flight, then drops the overlapping page", async () => {
    const { server, reads, left, target } = scriptedChannel();
    let feed: ChannelFeed | undefined;
    const { outlet, ids } = recordingOutlet(() => [feed?.cursor ?? 0]);
    feed = new ChannelFeed(
      target,
      { bufferBytes: 65_536, maxSubscribers: 10, replay: { bytesPerSecond: 1e9, maxBytesPerStream: 1e9 } },
      outlet,
    );
    const attaching = feed.attach(10);
    // The channel stands at 30; the stream resumes after 10.
    server.send(JSON.stringify({ t: "hello", last: 30, subscribers: 1, resume: { cursor: 10, notice: null } }));
    expect(await attaching).toBeUndefined();
    feed.start();
    await until(() => reads.length === 1);
    expect(reads[0]!.after).toBe(10);

    // While that read waits (the replay gate, a slow object), the attach's first page arrives: 10 → 14.
    server.send(encodeBatch(10, 14, frames(10, 14)));
    await until(() => ids().length === 4);
    expect(ids()).toEqual([11, 12, 13, 14]);

    // The read answers from 10: it overlaps what was written, so it is dropped and asked again from 14.
    reads[0]!.answer({ bytes: frames(10, 30), cursor: 30, last: 30, waitMs: 0 });
    await until(() => reads.length === 2);
    expect(reads[1]!.after).toBe(14);
    reads[1]!.answer({ bytes: frames(14, 30), cursor: 30, last: 30, waitMs: 0 });
    await until(() => ids().length === 20);

    // Live again: the next push follows on and is written as it comes.
    server.send(encodeBatch(30, 31, frames(30, 31)));
    await until(() => ids().length === 21);
    expect(ids()).toEqual(Array.from({ length: 21 }, (_, index) => index + 11));
    feed.close("disconnected");
    expect(left).toEqual([]); // it caught up through the gate: nothing left to give back
  });
});
