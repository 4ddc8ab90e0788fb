/**
 * A property of the Mercure hub over random interleavings of publishes
 * (public and private, on a few topics), subscriptions with random sets of
 * matchers and tokens, resumptions from any earlier update's id (one the
 * subscriber may not read resumes like an unknown id: from the oldest
 * retained), disconnects and crashes of the hub's sequencing object: every open
 * subscriber gets exactly the updates after its start that one of its
 * matchers selects and its token may read, each once, in hub order.
 * Seeded by the run's seed (printed; TEST_SEED=... replays it).
 */
import { SELF, env } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { crash } from "../restart";
import { draftToken } from "../../support/mercure-token";
import { BASE } from "../relay-client";
import { readStream, type StreamReader } from "../sse-reader";
import { SEED } from "../seed";

const HUB = `${BASE}/.well-known/mercure`;
const PUBLISHER_KEY = env.MERCURE_PUBLISHER_JWT_KEY as string;
const SUBSCRIBER_KEY = env.MERCURE_SUBSCRIBER_JWT_KEY as string;
const TOPICS = ["a/1", "a/2", "b/1", "c"] as const;

/** Matchers a subscription may use, with what each selects (relative to the run's base). */
const MATCHERS = [
  { param: "match", pattern: (base: string) => `${base}/a/1`, selects: (t: string) => t === "a/1" },
  { param: "match_urlpattern", pattern: (base: string) => `${base}/a/:id`, selects: (t: string) => t.startsWith("a/") },
  { param: "match_urlpattern", pattern: (base: string) => `${base}/:x/1`, selects: (t: string) => t.endsWith("/1") },
  { param: "match", pattern: (base: string) => `${base}/c`, selects: (t: string) => t === "c" },
] as const;

/** What a subscriber's token lets it read of private updates (null: anonymous). */
const GRANTS = [
  null,
  {
    topics: (base: string) => [{ match: `${base}/a/:id`, match_type: "urlpattern" as const }],
    reads: (t: string) => t.startsWith("a/"),
  },
  { topics: () => [{ match: "*" }], reads: () => true },
] as const;

type Op =
  | { readonly kind: "publish"; readonly topic: number; readonly private: boolean }
  | { readonly kind: "subscribe"; readonly matchers: number[]; readonly grant: number; readonly resume: number | null }
  | { readonly kind: "disconnect"; readonly which: number }
  | { readonly kind: "restart" };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("publish" as const),
      topic: fc.nat({ max: TOPICS.length - 1 }),
      private: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant("subscribe" as const),
      matchers: fc.uniqueArray(fc.nat({ max: MATCHERS.length - 1 }), { minLength: 1, maxLength: 3 }),
      grant: fc.nat({ max: GRANTS.length - 1 }),
      resume: fc.option(fc.nat({ max: 20 }), { nil: null }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("disconnect" as const), which: fc.nat({ max: 10 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: "restart" as const }) },
);

interface Update {
  readonly id: string;
  readonly topic: string;
  readonly private: boolean;
}

interface Tracked {
  /** Index in the run's log of the first update this subscriber may get. */
  readonly from: number;
  readonly selects: (topic: string) => boolean;
  readonly reads: (topic: string) => boolean;
  readonly reader: StreamReader;
  open: boolean;
}

async function publish(token: string, topic: string, data: string, isPrivate: boolean): Promise<string> {
  const body = new URLSearchParams({ topic, data });
  if (isPrivate) body.append("private", "on");
  const response = await SELF.fetch(HUB, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/x-www-form-urlencoded" },
    body,
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`publish failed: ${response.status} ${text}`);
  return text;
}

let run = 0;

/** Whether resuming with this update's id starts right after it: only for a subscriber that may read it. */
function resumesAfter(update: Update, grant: (typeof GRANTS)[number]): boolean {
  return !update.private || (grant?.reads(update.topic) ?? false);
}

describe("Mercure hub under random interleavings", () => {
  it("every subscriber gets exactly what its matchers select and its token reads, once, in hub order", async () => {
    const publisher = await draftToken(PUBLISHER_KEY, HUB, ["publish"], [{ match: "*" }]);
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 4, maxLength: 14 }), async (ops) => {
        run += 1;
        const base = `https://example.com/prop-${run}-${Math.random().toString(36).slice(2, 8)}`;
        const marker = `${base}/marker`;
        const log: Update[] = [];
        const streams: Tracked[] = [];
        for (const step of ops) {
          if (step.kind === "publish") {
            const topic = TOPICS[step.topic]!;
            const id = await publish(publisher, `${base}/${topic}`, `u${log.length}`, step.private);
            log.push({ id, topic, private: step.private });
          } else if (step.kind === "subscribe") {
            if (streams.filter((stream) => stream.open).length >= 6) continue; // MAX_SUBSCRIBERS_PER_CHANNEL is 8
            const url = new URL(HUB);
            for (const index of step.matchers)
              url.searchParams.append(MATCHERS[index]!.param, MATCHERS[index]!.pattern(base));
            url.searchParams.append("match", marker); // every subscriber gets the closing marker
            const grant = GRANTS[step.grant]!;
            const headers: Record<string, string> = {};
            if (grant !== null) {
              const token = await draftToken(SUBSCRIBER_KEY, HUB, ["subscribe"], grant.topics(base));
              headers.Authorization = `Bearer ${token}`;
            }
            const resumeAt = step.resume !== null && log.length > 0 ? step.resume % log.length : null;
            if (resumeAt !== null) headers["Last-Event-ID"] = log[resumeAt]!.id;
            const response = await SELF.fetch(url, { headers });
            expect(response.status).toBe(200);
            const reader = readStream(response);
            await reader.waitForComment((comment) => comment.trim() === "connected");
            const matchers = step.matchers.map((index) => MATCHERS[index]!);
            streams.push({
              // An id it may not read resumes like an unknown one: from the oldest retained (this run's
              // updates all are: HISTORY_LIMIT is 20 here).
              from: resumeAt === null ? log.length : resumesAfter(log[resumeAt]!, grant) ? resumeAt + 1 : 0,
              selects: (topic) => matchers.some((matcher) => matcher.selects(topic)),
              reads: (topic) => grant?.reads(topic) ?? false,
              reader,
              open: true,
            });
          } else if (step.kind === "disconnect") {
            const open = streams.filter((stream) => stream.open);
            const victim = open[step.which % Math.max(1, open.length)];
            if (victim) {
              victim.open = false;
              await victim.reader.cancel();
            }
          } else {
            const hub = env.CHANNELS.get(env.CHANNELS.idFromName("~mercure"));
            // A crash, not an eviction: evictDurableObject waits for references to the hub to go and
            // refuses after about 30 s when they do not (test/worker/restart.ts); a crash always lands.
            await crash(hub, "simulated hub crash");
          }
        }
        const end = await publish(publisher, marker, "marker", false);
        for (const stream of streams) {
          const expected = log
            .slice(stream.from)
            .filter((update) => stream.selects(update.topic) && (!update.private || stream.reads(update.topic)))
            .map((update) => update.id);
          const ids = () => stream.reader.events.map((event) => event.id);
          if (stream.open) {
            await stream.reader.waitForEvents(expected.length + 1);
            expect(ids(), `subscriber from ${stream.from}`).toEqual([...expected, end]);
            await stream.reader.cancel();
          } else {
            // A disconnected subscriber got a prefix of what it was owed.
            expect(ids()).toEqual(expected.slice(0, ids().length));
          }
        }
      }),
      { seed: SEED, numRuns: 12 },
    );
  }, 120_000);
});
