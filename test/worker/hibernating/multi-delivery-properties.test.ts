/**
 * The property of delivery-properties.test.ts for multi-channel streams
 * (GET /v1/events?channel=…, hibernating mode): random interleavings of
 * publishes to any of three channels, streams that start fresh or resume
 * from a cursor another stream received, disconnects, slow readers and
 * restarts of one channel's object in the middle of a burst. Every stream
 * gets, per channel, exactly the contiguous run of ids from where its
 * cursor put it, in order, with no duplicate, and every cursor it receives
 * holds the positions delivered so far. Seeded (printed; TEST_SEED=... replays it).
 */
import { SELF, env } from "cloudflare:test";
import type { EventSourceMessage } from "eventsource-parser";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { restart } from "../restart";
import { BASE, freshChannel, publishData } from "../relay-client";
import { type StreamReader, readStream } from "../sse-reader";
import { SEED } from "../seed";

const CHANNELS = 3;

type Op =
  | { readonly kind: "publish"; readonly channel: number; readonly count: number }
  | { readonly kind: "subscribe"; readonly resume: number | null }
  | { readonly kind: "slow" }
  | { readonly kind: "disconnect"; readonly which: number }
  | { readonly kind: "restart"; readonly channel: number; readonly duringBurst: number };

const channelIndex = fc.nat({ max: CHANNELS - 1 });
const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("publish" as const),
      channel: channelIndex,
      count: fc.integer({ min: 1, max: 3 }),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("subscribe" as const),
      resume: fc.option(fc.nat({ max: 40 }), { nil: null }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "slow" as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("disconnect" as const), which: fc.nat({ max: 10 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("restart" as const),
      channel: channelIndex,
      duringBurst: fc.integer({ min: 0, max: 4 }),
    }),
  },
);

interface Tracked {
  /** Per channel, the id the stream resumes after. */
  readonly start: readonly number[];
  readonly reader: StreamReader;
  open: boolean;
}

function positionsOf(event: EventSourceMessage): { channel: number; positions: number[] } {
  const [channel, rest] = event.id!.split(":");
  return { channel: Number(channel), positions: rest!.split(".").map(Number) };
}

/** What a stream from `start` must have received: per channel a contiguous run, every cursor cumulative. */
function check(stream: Tracked, complete: readonly number[] | null): void {
  let positions = [...stream.start];
  for (const event of stream.reader.events) {
    const cursor = positionsOf(event);
    positions[cursor.channel]! += 1;
    expect(cursor.positions, `cursor ${event.id} from ${stream.start.join(".")}`).toEqual(positions);
    positions = cursor.positions;
  }
  if (complete !== null) expect(positions).toEqual(complete);
}

describe("multi-channel delivery under random interleavings", () => {
  it("every stream gets, per channel, a contiguous duplicate-free run from its cursor", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 4, maxLength: 14 }), async (ops) => {
        const channels = Array.from({ length: CHANNELS }, () => freshChannel("mprop"));
        const query = channels.map((channel) => `channel=${channel}`).join("&");
        const streams: Tracked[] = [];
        const last = channels.map(() => 0);
        const publish = async (index: number, data: string) => {
          last[index] = Math.max(last[index]!, Number(await publishData(channels[index]!, data)));
        };
        for (const step of ops) {
          if (step.kind === "publish") {
            for (let n = 0; n < step.count; n++) await publish(step.channel, `e${n}`);
          } else if (step.kind === "subscribe" || step.kind === "slow") {
            if (streams.filter((stream) => stream.open).length >= 6) continue; // MAX_SUBSCRIBERS_PER_CHANNEL is 8
            // Resume from a cursor some stream received (or start at the live end).
            const received = streams.flatMap((stream) => stream.reader.events);
            const from = step.kind === "subscribe" && step.resume !== null ? received[step.resume] : undefined;
            const headers: Record<string, string> = from === undefined ? {} : { "Last-Event-ID": from.id! };
            const start = from === undefined ? [...last] : positionsOf(from).positions;
            const response = await SELF.fetch(`${BASE}/v1/events?${query}`, { headers });
            expect(response.status).toBe(200);
            const reader = readStream(response);
            // A slow reader is read only at the end: its events pile up against its budget meanwhile.
            if (step.kind === "subscribe") await reader.waitForComment((comment) => comment.trim() === "connected");
            streams.push({ start, reader, open: true });
          } else if (step.kind === "disconnect") {
            const open = streams.filter((stream) => stream.open);
            const victim = open[step.which % Math.max(1, open.length)];
            if (victim) {
              victim.open = false;
              await victim.reader.cancel();
            }
          } else if (last[step.channel]! > 0) {
            // The restart lands in the middle of a burst of publishes to that channel (none awaited first).
            const burst = Array.from({ length: step.duringBurst }, (_, n) => publish(step.channel, `burst${n}`));
            const stub = env.CHANNELS.get(env.CHANNELS.idFromName(channels[step.channel]!));
            await restart(stub);
            await Promise.all(burst);
          }
        }
        // A marker on every channel, published last: once a stream has them, it had every chance to get the rest.
        for (let index = 0; index < CHANNELS; index++) await publish(index, "marker");
        for (const stream of streams) {
          if (stream.open) {
            const expected = last.reduce((sum, id, index) => sum + id - stream.start[index]!, 0);
            await stream.reader.waitForEvents(expected);
            check(stream, last);
            await stream.reader.cancel();
          } else {
            check(stream, null); // a disconnected stream got a contiguous prefix of its run
          }
        }
      }),
      { seed: SEED, numRuns: 10 },
    );
  }, 120_000);
});
