/**
 * What a Mercure subscription's matchers cost its stream (issue 17, item 2): each update the view
 * reads is charged matchingCost x the length of its topics (src/mercure/view.ts,
 * CPU_MODEL.matcherNanos, measured by scripts/matcher-cpu.ts), and the cap keeps the costliest
 * accepted subscription at about 1 ms per update on a topic at the length limit. Computed from the
 * model on a scripted channel object, never timed.
 */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { CLOSE_CODES, encodeBatch } from "../../../src/protocol/bridge-protocol";
import { openBridgedStream } from "../../../src/edge/bridged-stream";
import { matchingCostMicros, viewCostMicros } from "../../../src/edge/cpu-model";
import { positionMarks } from "../../../src/mercure/cursor";
import { MERCURE_LIMITS } from "../../../src/mercure/limits";
import { compileMatcher, type Matcher, matchingCost } from "../../../src/mercure/matchers";
import { encodeEnvelope } from "../../../src/mercure/update";
import { mercurePosition, mercureView } from "../../../src/mercure/view";
import { encodeText, formatEvent } from "../../../src/sse/codec";
import { BASE } from "../relay-client";
import { collect, scriptedChannel, until } from "../scripted-channel";

const HUB_URL = new URL(`${BASE}/.well-known/mercure`);
const MARKS = positionMarks(new Uint8Array(32));
/** A topic at the length limit, all of whose characters the patterns below scan. */
const TOPIC = `https://example.com/${"x".repeat(MERCURE_LIMITS.maxFieldLength - 20)}`;

/** `*`: every topic, at no matching cost (a selector as long as TOPIC would be refused). */
const EVERY_TOPIC = compileMatcher("exact", "*", HUB_URL);

/** Patterns matching TOPIC that together cost exactly the cap (shift-and over up to three words each). */
function costliestAccepted(): Matcher[] {
  const matchers: Matcher[] = [];
  for (let n = 0; matchingCost(matchers) < MERCURE_LIMITS.maxMatcherCost; n++) {
    // `*x` repeated: 2 atoms per repeat, a word per 32 atoms; n keeps the patterns distinct.
    const words = Math.min(3, MERCURE_LIMITS.maxMatcherCost - matchingCost(matchers));
    const runs = [0, 10, 20, 40][words]! + n;
    matchers.push(compileMatcher("urlpattern", `https://example.com/${"*x".repeat(runs)}*`, HUB_URL));
  }
  expect(matchingCost(matchers)).toBe(MERCURE_LIMITS.maxMatcherCost);
  return matchers;
}

/** Hub frames of updates from+1…to on TOPIC, as the sequencing object stores them. */
function updates(from: number, to: number): Uint8Array {
  let text = "";
  for (let id = from + 1; id <= to; id++) {
    const envelope = encodeEnvelope({ id: `u${id}`, topics: [TOPIC], data: `d${id}`, private: false });
    text += formatEvent({ id: String(id), data: envelope });
  }
  return encodeText(text);
}

/** A Mercure stream with `matchers` on a scripted hub object, at the default budget; updates one at a time. */
async function subscription(matchers: Matcher[]) {
  const channel = scriptedChannel();
  const opening = openBridgedStream(
    channel.target,
    undefined,
    {
      retryMs: 500,
      heartbeatMs: 3_600_000,
      bufferBytes: 1_000_000,
      cpuBudgetMs: 5, // STREAM_CPU_BUDGET_MS's default
      closeAt: Date.now() + 3_600_000,
      maxSubscribers: 10,
      replay: { bytesPerSecond: 1e9, maxBytesPerStream: 1e9 },
    },
    undefined,
    mercureView(matchers, null, true, MARKS),
    mercurePosition(MARKS),
  );
  channel.server.send(JSON.stringify({ t: "hello", last: 0, subscribers: 1 }));
  const response = await opening;
  expect(response?.status).toBe(200);
  const seen = collect(response!.body!);
  /** Publishes updates until the stream ends or `limit` were read; how many it read. */
  const publishUntilEnd = async (limit: number) => {
    let sent = 0;
    while (sent < limit && !seen.ended) {
      channel.server.send(encodeBatch(sent, sent + 1, updates(sent, sent + 1)));
      sent += 1;
      const id = `id: u${sent}\n`;
      expect(await until(() => seen.text.includes(id) || seen.ended)).toBe(true);
    }
    return sent;
  };
  return { ...channel, seen, publishUntilEnd };
}

describe("Mercure matching, charged to the stream", () => {
  it("charges an update its matchers' cost x its topic length: about 1 ms at the cap on a topic at the limit", () => {
    const frames = updates(0, 1);
    const cheap = mercureView([EVERY_TOPIC], null, true, MARKS)(frames);
    const costly = mercureView(costliestAccepted(), null, true, MARKS)(frames);
    expect(cheap.costMicros).toBe(viewCostMicros(frames.byteLength));
    const matching = matchingCostMicros(MERCURE_LIMITS.maxMatcherCost * TOPIC.length);
    expect(costly.costMicros).toBe(viewCostMicros(frames.byteLength) + matching);
    // The cap follows from the measured unit: the costliest accepted subscription, at most about 1 ms.
    expect(matching).toBeLessThanOrEqual(1_000);
    expect(matchingCostMicros((MERCURE_LIMITS.maxMatcherCost + 1) * TOPIC.length)).toBeGreaterThan(1_000);
    // Both wrote the update: the charge is for reading it, not for what the subscriber received.
    expect(new TextDecoder().decode(costly.bytes)).toBe(new TextDecoder().decode(cheap.bytes));
  });

  it("a private update also costs the token's matchers", () => {
    const grant = { matchers: costliestAccepted() };
    const envelope = encodeEnvelope({ id: "p", topics: [TOPIC], data: "x", private: true });
    const frames = encodeText(formatEvent({ id: "1", data: envelope }));
    const view = mercureView([EVERY_TOPIC], grant, false, MARKS);
    expect(view(frames).costMicros).toBe(
      viewCostMicros(frames.byteLength) + matchingCostMicros(MERCURE_LIMITS.maxMatcherCost * TOPIC.length),
    );
  });

  it("a stream with costly matchers ends for its budget sooner than a cheap one, cleanly", async () => {
    const costly = await subscription(costliestAccepted());
    const budgetMicros = 5_000;
    // No more updates than the matching charge alone allows.
    const bound = Math.ceil(budgetMicros / matchingCostMicros(MERCURE_LIMITS.maxMatcherCost * TOPIC.length));
    const costlyRead = await costly.publishUntilEnd(bound + 1);
    expect(costly.seen.ended).toBe(true);
    expect(costlyRead).toBeLessThanOrEqual(bound);
    expect(await until(() => costly.closes.length === 1)).toBe(true);
    expect(costly.closes).toEqual([CLOSE_CODES.rotated]);

    const cheap = await subscription([EVERY_TOPIC]);
    expect(await cheap.publishUntilEnd(4 * costlyRead)).toBe(4 * costlyRead);
    expect([cheap.seen.ended, cheap.closes]).toEqual([false, []]);
    await cheap.seen.cancel();
  });

  it("refuses past the cap with 400 naming it: eight patterns at cost 8, accepted under the old cap of 64", async () => {
    const attack = Array.from({ length: 8 }, (_, n) => `https://example.com/${n}/${"*x".repeat(120)}*`);
    for (const pattern of attack) expect(compileMatcher("urlpattern", pattern, HUB_URL).cost).toBe(8);
    const url = new URL(HUB_URL);
    for (const pattern of attack) url.searchParams.append("match_urlpattern", pattern);
    const response = await SELF.fetch(url);
    expect(response.status).toBe(400);
    const body = (await response.json()) as { message: string };
    expect(body.message).toContain(`(cost 64, at most ${MERCURE_LIMITS.maxMatcherCost})`);
  });
});
