/**
 * A property over random interleavings of publishes, subscribes with any
 * Last-Event-ID, object restarts (hibernating mode: the object is evicted
 * with its sockets closed, as a crash or deploy does), disconnects and slow
 * readers: every stream's ids are exactly the contiguous run from where it
 * started, in order, with no duplicate. Runs in both delivery modes (direct
 * mode has no restart that keeps streams, so there restarts are skipped).
 * Seeded by the run's seed (printed; TEST_SEED=... replays it).
 */
import { SELF, env } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { restart } from "./restart";
import { BASE, DELIVERY_MODE, freshChannel, publishData, subscribe } from "./relay-client";
import { type StreamReader, readStream } from "./sse-reader";
import { SEED } from "./seed";

type Op =
  | { readonly kind: "publish"; readonly count: number }
  | { readonly kind: "subscribe"; readonly from: number | null }
  | { readonly kind: "slow" }
  | { readonly kind: "disconnect"; readonly which: number }
  | { readonly kind: "restart"; readonly duringBurst: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("publish" as const), count: fc.integer({ min: 1, max: 3 }) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("subscribe" as const),
      from: fc.option(fc.nat({ max: 30 }), { nil: null }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: "slow" as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("disconnect" as const), which: fc.nat({ max: 10 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("restart" as const), duringBurst: fc.integer({ min: 0, max: 4 }) }),
  },
);

interface Tracked {
  /** Id the stream resumes after: its first event must be start + 1. */
  readonly start: number;
  readonly reader: StreamReader;
  open: boolean;
}

describe("delivery under random interleavings", () => {
  it("every stream gets a contiguous, duplicate-free run of ids from where it started", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 4, maxLength: 14 }), async (ops) => {
        const channel = freshChannel("prop");
        const stub = env.CHANNELS.get(env.CHANNELS.idFromName(channel));
        const streams: Tracked[] = [];
        let last = 0;
        for (const step of ops) {
          if (step.kind === "publish") {
            for (let n = 0; n < step.count; n++) last = Number(await publishData(channel, `e${last + 1}`));
          } else if (step.kind === "subscribe" || step.kind === "slow") {
            if (streams.filter((stream) => stream.open).length >= 6) continue; // MAX_SUBSCRIBERS_PER_CHANNEL is 8
            const from = step.kind === "subscribe" && step.from !== null ? Math.min(step.from, last) : null;
            const headers: Record<string, string> = from === null ? {} : { "Last-Event-ID": String(from) };
            if (step.kind === "slow") {
              // Read only at the end: its events pile up against its budget meanwhile.
              const response = await SELF.fetch(`${BASE}/v1/channels/${channel}/events`, { headers });
              streams.push({ start: from ?? last, reader: readStream(response), open: true });
            } else {
              streams.push({ start: from ?? last, reader: await subscribe(channel, { headers }), open: true });
            }
          } else if (step.kind === "disconnect") {
            const open = streams.filter((stream) => stream.open);
            const victim = open[step.which % Math.max(1, open.length)];
            if (victim) {
              victim.open = false;
              await victim.reader.cancel();
            }
          } else if (DELIVERY_MODE === "hibernating" && last > 0) {
            // The restart lands in the middle of a burst of publishes (none of them awaited first).
            const burst = Array.from({ length: step.duringBurst }, (_, n) => publishData(channel, `burst${n}`));
            await restart(stub);
            for (const id of await Promise.all(burst)) last = Math.max(last, Number(id));
          }
        }
        // A marker published last: once a stream has it, it has had every chance to get the rest.
        last = Number(await publishData(channel, "marker"));
        for (const stream of streams) {
          const ids = () => stream.reader.events.map((event) => Number(event.id));
          if (stream.open) {
            await stream.reader.waitForEvents(last - stream.start);
            expect(ids(), `stream from ${stream.start}`).toEqual(
              Array.from({ length: last - stream.start }, (_, index) => stream.start + index + 1),
            );
            await stream.reader.cancel();
          } else {
            // A disconnected stream got a contiguous prefix of its run.
            expect(ids()).toEqual(ids().map((_, index) => stream.start + index + 1));
          }
        }
      }),
      { seed: SEED, numRuns: 12 },
    );
  }, 120_000);
});
