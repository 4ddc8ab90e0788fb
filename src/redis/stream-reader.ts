/**
 * Reads one channel's Redis Stream through Upstash's REST API
 * (@upstash/redis, which works inside Workers: plain HTTPS, no sockets).
 *
 * Only XRANGE and XREVRANGE: blocking reads (XREAD BLOCK) are not supported
 * over the REST API, so the channel object polls.
 */
import { Redis } from "@upstash/redis/cloudflare";
import type { RedisConfig } from "../config";

/** One stream entry as Redis stores it: an id and its field/value pairs. */
export interface StreamEntry {
  readonly id: string;
  readonly fields: ReadonlyMap<string, string>;
}

/** The id before every real entry: XRANGE after it reads from the beginning. */
export const STREAM_START = "0-0";

/** What the poll loop reads a stream with: Upstash here, a scripted stream in tests. */
export interface StreamReader {
  /** Up to `count` entries with ids greater than `afterId`, oldest first. */
  readAfter(key: string, afterId: string, count: number): Promise<StreamEntry[]>;
  /** Id of the newest entry, or STREAM_START when the stream is empty or missing. */
  lastEntryId(key: string): Promise<string>;
}

export class RedisStreamReader implements StreamReader {
  private readonly redis: Redis;

  constructor(config: Pick<RedisConfig, "url" | "token" | "timeoutMs">) {
    this.redis = new Redis({
      url: config.url,
      token: config.token,
      // Payloads are opaque text: never let the client JSON-parse "123" into 123.
      automaticDeserialization: false,
      enableTelemetry: false,
      readYourWrites: false,
      // The channel object retries on its own schedule, with backoff; don't stall an alarm here.
      retry: { retries: 0 },
      // A slow Upstash counts as a failed poll: a fresh deadline per request.
      signal: () => AbortSignal.timeout(config.timeoutMs),
    });
  }

  async readAfter(key: string, afterId: string, count: number): Promise<StreamEntry[]> {
    const raw: unknown = await this.redis.xrange(key, `(${afterId}`, "+", count);
    return parseEntries(raw);
  }

  async lastEntryId(key: string): Promise<string> {
    const raw: unknown = await this.redis.xrevrange(key, "+", "-", 1);
    return parseEntries(raw)[0]?.id ?? STREAM_START;
  }
}

/** XRANGE's reply is [[id, [field, value, ...]], ...]; anything else is a protocol error. */
export function parseEntries(raw: unknown): StreamEntry[] {
  if (raw === null || raw === undefined) return [];
  if (!Array.isArray(raw)) throw new Error(`unexpected XRANGE reply: ${JSON.stringify(raw)?.slice(0, 200)}`);
  return raw.map((item: unknown) => {
    if (!Array.isArray(item) || typeof item[0] !== "string" || !Array.isArray(item[1])) {
      throw new Error(`unexpected XRANGE entry: ${JSON.stringify(item)?.slice(0, 200)}`);
    }
    const pairs: unknown[] = item[1];
    const fields = new Map<string, string>();
    for (let index = 0; index + 1 < pairs.length; index += 2) {
      const field = String(pairs[index]);
      // The first occurrence of a field wins, as in most Redis clients.
      if (!fields.has(field)) fields.set(field, String(pairs[index + 1]));
    }
    return { id: item[0], fields };
  });
}
