/**
 * A Redis Stream the test scripts, for the channel object's poll loop (src/redis/poller.ts) inside
 * workerd: the test adds entries (as XADD would), takes the stream down and up, and counts the
 * reads; the object polls it through the StreamReader interface, exactly as it polls Upstash. No
 * network, no redis-server: test/e2e/redis.test.ts keeps the real one.
 */
import { env, runInDurableObject } from "cloudflare:test";
import type { ChannelObject } from "../../src/objects/channel-object";
import { configFromEnv, type RedisConfig } from "../../src/config";
import { log } from "../../src/log";
import { RedisPoller } from "../../src/redis/poller";
import { STREAM_START, type StreamEntry, type StreamReader } from "../../src/redis/stream-reader";
import { type Clock, systemClock } from "../../src/stream/clock";

/** Redis orders ids as (milliseconds, sequence) pairs. */
const idOrder = (id: string): [number, number] => {
  const [ms, seq] = id.split("-").map(Number);
  return [ms ?? 0, seq ?? 0];
};
const after = (id: string, than: string): boolean => {
  const [a, b] = [idOrder(id), idOrder(than)];
  return a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]);
};

export interface ScriptedStream {
  readonly reader: StreamReader;
  /** Appends an entry with the given field/value pairs (in order, repeats kept, as XADD); returns its id. */
  xadd(...fields: string[]): string;
  /** While set, every read fails with this error (Upstash unreachable, Redis down). */
  failWith: Error | null;
  /** Reads so far (XRANGE and XREVRANGE), for "no Redis command" checks. */
  readonly reads: number;
}

export function scriptedStream(): ScriptedStream {
  const entries: { id: string; pairs: string[] }[] = [];
  let sequence = 0;
  let reads = 0;
  const parsed = (entry: { id: string; pairs: string[] }): StreamEntry => {
    const fields = new Map<string, string>();
    for (let index = 0; index + 1 < entry.pairs.length; index += 2) {
      if (!fields.has(entry.pairs[index]!)) fields.set(entry.pairs[index]!, entry.pairs[index + 1]!);
    }
    return { id: entry.id, fields };
  };
  const stream: ScriptedStream = {
    failWith: null,
    get reads() {
      return reads;
    },
    xadd(...pairs) {
      sequence += 1;
      const id = `${1_700_000_000_000 + sequence}-0`;
      entries.push({ id, pairs });
      return id;
    },
    reader: {
      readAfter: async (_key, afterId, count) => {
        reads += 1;
        if (stream.failWith) throw stream.failWith;
        return entries
          .filter((entry) => after(entry.id, afterId))
          .slice(0, count)
          .map(parsed);
      },
      lastEntryId: async () => {
        reads += 1;
        if (stream.failWith) throw stream.failWith;
        return entries.at(-1)?.id ?? STREAM_START;
      },
    },
  };
  return stream;
}

/**
 * Polls every 60 s: no poll comes by itself while a test runs, but the first one (due at once
 * when a subscriber comes) and those after a full batch (also due at once); the test runs each
 * other poll with runDurableObjectAlarm. Batches of 3, to show full batches with few entries.
 */
export const POLL_MS = 60_000;
const BATCH_SIZE = 3;

export function redisConfig(overrides: Partial<RedisConfig> = {}): RedisConfig {
  return {
    url: "https://scripted.invalid",
    token: "scripted",
    streamPrefix: "sse:",
    pollMs: POLL_MS,
    batchSize: BATCH_SIZE,
    startFrom: "end",
    timeoutMs: 5_000,
    channelPrefixes: [""],
    ...overrides,
  };
}

/**
 * Gives the channel's object (as it is now: a new instance after an eviction needs it again) a
 * poll loop over `stream`, as it would build one over Upstash when Redis is configured. Call
 * before the first subscriber comes: a subscriber starts the loop.
 */
export async function pollFrom(
  channel: string,
  stream: ScriptedStream,
  config = redisConfig(),
  clock: Pick<Clock, "now"> = systemClock,
): Promise<void> {
  const stub = env.CHANNELS.get(env.CHANNELS.idFromName(channel));
  await runInDurableObject(stub, (instance: ChannelObject, state) => {
    const poller = new RedisPoller(
      state.storage.sql,
      config,
      configFromEnv(env),
      log.with({ channel, object: "channel" }),
      channel,
      stream.reader,
      clock,
    );
    (instance as unknown as { redis: RedisPoller }).redis = poller;
  });
}
