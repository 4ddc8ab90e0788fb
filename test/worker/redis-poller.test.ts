/**
 * The Redis poll loop inside workerd: the channel object's alarm polls a stream the test scripts
 * (test/worker/scripted-redis.ts), through the same StreamReader interface Upstash is read with,
 * and the test runs each poll with runDurableObjectAlarm. Subscribers read real streams through
 * the Worker, in both delivery modes. test/e2e/redis.test.ts keeps what needs the real thing:
 * redis-server and the Upstash REST bridge, their outages, a slow answer, a process restart.
 */
import { env, evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { RedisStatus } from "../../src/redis/ingest";
import { freshChannel, publishData, stats, subscribe } from "./relay-client";
import { FORGET_AFTER_MS } from "../../src/redis/poller";
import { FakeClock } from "../support/fake-clock";
import { POLL_MS, pollFrom, redisConfig, scriptedStream } from "./scripted-redis";
import { eventually, type StreamReader } from "./sse-reader";

afterEach(() => vi.restoreAllMocks());

const stubOf = (channel: string) => env.CHANNELS.get(env.CHANNELS.idFromName(channel));
const redisStatus = async (channel: string) => ((await stats(channel)) as unknown as { redis: RedisStatus }).redis;
const alarmOf = (channel: string) =>
  runInDurableObject(stubOf(channel), (_instance, state) => state.storage.getAlarm());

/**
 * The loop waits for a poll that is not about to run by itself: REDIS_POLL_MS away or backing off.
 * Only then may the test run one (a poll due at once runs by itself; two polls of one channel
 * never overlap in production, and must not here).
 */
async function isQuiet(channel: string): Promise<boolean> {
  const alarm = await alarmOf(channel);
  return alarm !== null && alarm > Date.now() + 5_000;
}
const quiet = (channel: string) => eventually(() => isQuiet(channel));

/** A subscriber, once the first poll (due at once when it came) has fixed the channel's cursor and ended. */
async function subscribed(channel: string, headers: Record<string, string> = {}): Promise<StreamReader> {
  const reader = await subscribe(channel, { headers });
  await eventually(async () => (await redisStatus(channel)).lastPoll !== null);
  await quiet(channel);
  return reader;
}

/** Runs polls until `reader` has `count` events (a poll that finds nothing new changes nothing). */
async function pollUntil(channel: string, reader: StreamReader, count: number): Promise<void> {
  await eventually(async () => {
    if (reader.events.length < count && (await isQuiet(channel))) await runDurableObjectAlarm(stubOf(channel));
    return reader.events.length >= count;
  });
}

/** Ends the test's streams and its channel's alarm, so no poll of it runs during another test. */
async function done(channel: string, ...readers: StreamReader[]): Promise<void> {
  await Promise.all(readers.map((reader) => reader.cancel()));
  await eventually(async () => (await stats(channel)).subscribers === 0);
  await runInDurableObject(stubOf(channel), (_instance, state) => state.storage.deleteAlarm());
}

const data = (reader: StreamReader) => reader.events.map((event) => event.data);
const ids = (reader: StreamReader) => reader.events.map((event) => event.id);
const oneToN = (n: number) => Array.from({ length: n }, (_, i) => String(i + 1));

describe("the Redis poll loop in the channel object", () => {
  it("a subscriber starts it at the stream's end; entries then arrive in order, named and multi-line, from healthy polls every REDIS_POLL_MS", async () => {
    const channel = freshChannel("redis");
    const stream = scriptedStream();
    const old = stream.xadd("data", "written before anyone subscribed");
    await pollFrom(channel, stream);
    const reader = await subscribed(channel);
    expect((await redisStatus(channel)).cursor).toBe(old);

    const entries: [string, string | undefined][] = [
      ["first", undefined],
      ["line one\nline two\r\nline three", undefined],
      ['{"page":7,"title":"Edited"}', "page-updated"],
      ["123", undefined],
      ["", undefined],
      ["  spaced  ", "page-updated"],
    ];
    for (const [value, name] of entries) stream.xadd(...(name ? ["event", name, "data", value] : ["data", value]));
    const before = Date.now();
    expect(await runDurableObjectAlarm(stubOf(channel))).toBe(true);
    // Batches of 3: the first poll's full batch brought the next polls at once, by themselves.
    await reader.waitForEvents(entries.length);
    expect(reader.events.map((event) => [event.event ?? "message", event.data])).toEqual(
      entries.map(([value, name]) => [name ?? "message", value.replace(/\r\n|\r/g, "\n")]),
    );
    expect(ids(reader)).toEqual(oneToN(6));
    expect(await redisStatus(channel)).toMatchObject({ consecutiveFailures: 0, lastPoll: { ok: true }, polling: true });
    // The last batch was not full: the next poll is REDIS_POLL_MS after it, neither at once nor backed off.
    await quiet(channel);
    const next = await alarmOf(channel);
    expect(next).toBeGreaterThanOrEqual(before + POLL_MS);
    expect(next).toBeLessThanOrEqual(Date.now() + POLL_MS);
    await done(channel, reader);
  });

  it("with REDIS_START=beginning the first poll reads the stream from its first entry", async () => {
    const channel = freshChannel("redis");
    const stream = scriptedStream();
    for (const n of [1, 2, 3, 4]) stream.xadd("data", `old ${n}`);
    await pollFrom(channel, stream, redisConfig({ startFrom: "beginning" }));
    const reader = await subscribe(channel);
    await reader.waitForEvents(4);
    expect(data(reader)).toEqual(["old 1", "old 2", "old 3", "old 4"]);
    await done(channel, reader);
  });

  it("entries and HTTP publishes share one id sequence, in arrival order; a resuming client replays both", async () => {
    const channel = freshChannel("redis");
    const stream = scriptedStream();
    await pollFrom(channel, stream);
    const reader = await subscribed(channel);
    const expected: string[] = [];
    for (let round = 0; round < 4; round++) {
      stream.xadd("data", `redis ${round}`);
      expected.push(`redis ${round}`);
      await pollUntil(channel, reader, expected.length);
      await publishData(channel, `http ${round}`);
      expected.push(`http ${round}`);
      await reader.waitForEvents(expected.length);
    }
    // Now both at once: every event once, ids consecutive, each source in its own order.
    await Promise.all([
      (async () => {
        for (let index = 0; index < 10; index++) {
          stream.xadd("data", `burst redis ${index}`);
          await quiet(channel);
          await runDurableObjectAlarm(stubOf(channel));
        }
      })(),
      (async () => {
        for (let index = 0; index < 10; index++) await publishData(channel, `burst http ${index}`);
      })(),
    ]);
    stream.xadd("data", "marker"); // read after every entry above: nothing can come after it
    await pollUntil(channel, reader, expected.length + 21);
    expect(data(reader).at(-1)).toBe("marker");
    expect(data(reader).slice(0, expected.length)).toEqual(expected);
    expect(ids(reader)).toEqual(oneToN(expected.length + 21));
    const burst = data(reader).slice(expected.length, -1);
    expect(burst.filter((value) => value.startsWith("burst redis"))).toEqual(
      Array.from({ length: 10 }, (_, i) => `burst redis ${i}`),
    );
    expect(burst.filter((value) => value.startsWith("burst http"))).toEqual(
      Array.from({ length: 10 }, (_, i) => `burst http ${i}`),
    );

    // Within HISTORY_LIMIT=20: the last 6 again, whichever source each came from.
    const resumed = await subscribe(channel, { headers: { "Last-Event-ID": String(expected.length + 15) } });
    await resumed.waitForEvents(6);
    expect(resumed.events.map((event) => [event.id, event.data])).toEqual(
      reader.events.slice(-6).map((event) => [event.id, event.data]),
    );
    await done(channel, reader, resumed);
  });

  it("skips what a publish would refuse, one log line each, and the cursor passes those entries", async () => {
    const warned: string[] = [];
    vi.spyOn(console, "warn").mockImplementation((line: unknown) => void warned.push(String(line)));
    const channel = freshChannel("redis");
    const stream = scriptedStream();
    await pollFrom(channel, stream);
    const reader = await subscribed(channel);
    stream.xadd("payload", "no data field");
    stream.xadd("data", "bad name", "event", "evil\ndata: injected");
    stream.xadd("data", "reserved", "event", "relay.lost");
    stream.xadd("data", "x".repeat(9_000)); // over MAX_EVENT_BYTES=8192
    stream.xadd("data", "good");
    const last = stream.xadd("data", "marker");
    await pollUntil(channel, reader, 2);
    expect(data(reader)).toEqual(["good", "marker"]);
    expect((await redisStatus(channel)).cursor).toBe(last);
    const skipped = warned
      .map((line) => JSON.parse(line) as { msg: string; channel?: string; reason?: string })
      .filter((line) => line.msg === "redis entry skipped" && line.channel === channel);
    expect(skipped.map((line) => line.reason)).toEqual([
      'no "data" field',
      expect.stringMatching(/CR, LF or NUL/),
      expect.stringMatching(/reserved/),
      expect.stringMatching(/MAX_EVENT_BYTES/),
    ]);
    await done(channel, reader);
  });

  it("a failed read is a failed poll: the cursor stays, the next poll backs off, HTTP stays live, then the backlog arrives once, in order", async () => {
    const channel = freshChannel("redis");
    const stream = scriptedStream();
    await pollFrom(channel, stream);
    const reader = await subscribed(channel);
    const cursor = stream.xadd("data", "before");
    await pollUntil(channel, reader, 1);

    stream.failWith = new Error('fetch failed, command was: ["XRANGE"]');
    for (const n of [1, 2, 3]) stream.xadd("data", `queued ${n}`);
    await quiet(channel);
    const before = Date.now();
    expect(await runDurableObjectAlarm(stubOf(channel))).toBe(true);
    const after = Date.now();
    expect(await redisStatus(channel)).toMatchObject({
      cursor,
      polling: true,
      lastPoll: { ok: false, error: "fetch failed" },
    });
    expect((await redisStatus(channel)).consecutiveFailures).toBeGreaterThan(0);
    // The next poll is the back-off's (REDIS_POLL_MS doubled per failure, at most 30 s, less up to half
    // of it at random), not REDIS_POLL_MS, not at once (a retry storm), and not never (no alarm).
    const retry = await alarmOf(channel);
    expect(retry).toBeGreaterThanOrEqual(before + 15_000);
    expect(retry).toBeLessThanOrEqual(after + 30_000);
    await publishData(channel, "http during outage");
    await reader.waitForEvents(2);

    stream.failWith = null;
    stream.xadd("data", "marker"); // read after the backlog: nothing can come after it
    await pollUntil(channel, reader, 6);
    expect(data(reader)).toEqual(["before", "http during outage", "queued 1", "queued 2", "queued 3", "marker"]);
    expect(ids(reader)).toEqual(oneToN(6));
    expect(await redisStatus(channel)).toMatchObject({ consecutiveFailures: 0, lastPoll: { ok: true } });
    await done(channel, reader);
  });

  it("stops when the channel has no subscribers (an idle channel costs no Redis command), and starts again with the next", async () => {
    const channel = freshChannel("redis");
    const stream = scriptedStream();
    await pollFrom(channel, stream);
    const reader = await subscribed(channel);
    stream.xadd("data", "first"); // a stream a backend writes to: its cursor is kept for good
    await pollUntil(channel, reader, 1);
    await reader.cancel();
    await eventually(async () => (await stats(channel)).subscribers === 0);
    await quiet(channel);
    const reads = stream.reads;
    // The poll that was due finds nobody subscribed: it reads nothing and schedules nothing.
    expect(await runDurableObjectAlarm(stubOf(channel))).toBe(true);
    expect(stream.reads).toBe(reads);
    expect(await alarmOf(channel)).toBeNull();
    expect((await redisStatus(channel)).polling).toBe(false);

    stream.xadd("data", "while idle");
    const next = await subscribe(channel, { headers: { "Last-Event-ID": "1" } });
    await pollUntil(channel, next, 1);
    expect(data(next)).toEqual(["while idle"]);
    expect((await redisStatus(channel)).polling).toBe(true);
    await done(channel, next);
  });

  describe("a stream that never had an entry (a name anyone can make up)", () => {
    const tables = (channel: string) =>
      runInDurableObject(stubOf(channel), (_instance, state) =>
        state.storage.sql
          .exec<{ name: string }>(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\'",
          )
          .toArray()
          .map((row) => row.name),
      );

    /** A channel whose only subscriber came and went; its first idle poll has run. */
    async function abandoned(channel: string, stream: ReturnType<typeof scriptedStream>, clock: FakeClock) {
      await pollFrom(channel, stream, redisConfig(), clock);
      const reader = await subscribed(channel);
      expect(reader.events).toEqual([]);
      await reader.cancel();
      await eventually(async () => (await stats(channel)).subscribers === 0);
      expect(await tables(channel)).toEqual(["redis_source"]);
      // The poll that was due finds nobody: no read, and one alarm, FORGET_AFTER_MS away.
      const reads = stream.reads;
      expect(await runDurableObjectAlarm(stubOf(channel))).toBe(true);
      expect(stream.reads).toBe(reads);
      const alarm = await alarmOf(channel);
      expect(alarm).not.toBeNull();
      expect(alarm! - Date.now()).toBeGreaterThan(FORGET_AFTER_MS - 60_000);
      // An alarm early for another job changes nothing.
      clock.advance(FORGET_AFTER_MS / 2);
      expect(await runDurableObjectAlarm(stubOf(channel))).toBe(true);
      expect(stream.reads).toBe(reads);
      const rest = await alarmOf(channel);
      expect(rest).not.toBeNull();
      expect(rest! - Date.now()).toBeGreaterThan(FORGET_AFTER_MS / 2 - 60_000);
      expect(rest! - Date.now()).toBeLessThanOrEqual(FORGET_AFTER_MS / 2);
      clock.advance(FORGET_AFTER_MS / 2);
    }

    it("is forgotten a day after its last subscriber left: no row, no alarm, no Redis command after", async () => {
      const channel = freshChannel("redis");
      const stream = scriptedStream();
      const clock = new FakeClock();
      await abandoned(channel, stream, clock);
      const reads = stream.reads;
      expect(await runDurableObjectAlarm(stubOf(channel))).toBe(true);
      expect(stream.reads).toBe(reads + 1); // does the stream exist now? No.
      expect(await tables(channel)).toEqual([]);
      expect(await alarmOf(channel)).toBeNull();
      expect(await redisStatus(channel)).toMatchObject({ cursor: null, polling: false });
    });

    it("created by a backend within that day, it is read from its first entry: a client back from the empty channel gets it all", async () => {
      const channel = freshChannel("redis");
      const stream = scriptedStream();
      const clock = new FakeClock();
      await abandoned(channel, stream, clock);
      stream.xadd("data", "one");
      stream.xadd("data", "two");
      expect(await runDurableObjectAlarm(stubOf(channel))).toBe(true);
      expect(await alarmOf(channel)).toBeNull();
      expect((await redisStatus(channel)).cursor).toBe("0-0");

      const back = await subscribe(channel, { headers: { "Last-Event-ID": "0" } });
      await pollUntil(channel, back, 2);
      expect(data(back)).toEqual(["one", "two"]);
      expect(ids(back)).toEqual(["1", "2"]);
      await done(channel, back);
    });

    it("a subscriber coming back within the day cancels the forgetting, and polling starts at once", async () => {
      const channel = freshChannel("redis");
      const stream = scriptedStream();
      const clock = new FakeClock();
      await abandoned(channel, stream, clock);
      stream.xadd("data", "one");
      const back = await subscribe(channel, { headers: { "Last-Event-ID": "0" } });
      await pollUntil(channel, back, 1);
      expect(data(back)).toEqual(["one"]);
      const planned = await runInDurableObject(stubOf(channel), (_instance, state) =>
        state.storage.sql.exec("SELECT 1 FROM redis_source WHERE key = 'forget_at'").toArray(),
      );
      expect(planned).toEqual([]);
      await done(channel, back);
    });
  });

  it("the cursor is durable: a new instance of the object resumes after it, losing and repeating nothing", async () => {
    const channel = freshChannel("redis");
    const stream = scriptedStream();
    await pollFrom(channel, stream);
    const first = await subscribed(channel);
    for (const n of [1, 2, 3]) stream.xadd("data", `entry ${n}`);
    await pollUntil(channel, first, 3);
    await done(channel, first);
    await evictDurableObject(stubOf(channel));

    // Written while the object is gone.
    for (const n of [4, 5, 6]) stream.xadd("data", `entry ${n}`);
    await pollFrom(channel, stream);
    const resumed = await subscribe(channel, { headers: { "Last-Event-ID": "3" } });
    await pollUntil(channel, resumed, 3);
    stream.xadd("data", "entry 7"); // the marker: read after anything that could still come twice
    await pollUntil(channel, resumed, 4);
    expect(data(resumed)).toEqual([4, 5, 6, 7].map((n) => `entry ${n}`));
    expect(ids(resumed)).toEqual(["4", "5", "6", "7"]);
    await done(channel, resumed);
  });
});
