/**
 * The Redis poll loop of one channel: driven by the channel object's
 * alarms, only while the channel has subscribers, each poll reading the
 * entries after the stored cursor and committing them as events together
 * with the new cursor (one transaction, so nothing is lost or repeated
 * across restarts).
 *
 * Polling state is for streams a backend writes to. A channel whose stream
 * has never had an entry (any name under REDIS_CHANNEL_PREFIXES an anonymous
 * client made up) keeps its cursor, "before the first entry", while it has
 * subscribers and for FORGET_AFTER_MS after the last one left, so a client
 * coming back with `Last-Event-ID: 0` still gets the entries of a stream
 * created meanwhile. Then, if the stream still does not exist, the channel
 * forgets it: no row, no alarm, nothing more to pay.
 */
import type { EventInput } from "../events/events";
import type { RedisConfig } from "../config";
import type { EventLimits } from "../events/event-rules";
import type { Logger } from "../log";
import { entryToEvent, RedisIngestState, type RedisStatus } from "./ingest";
import { RedisStreamReader, STREAM_START, type StreamReader } from "./stream-reader";
import { type Clock, systemClock } from "../stream/clock";

/**
 * How long a cursor that never passed an entry outlives the channel's last subscriber. It is the
 * gap a client may come back after, from an empty channel (`Last-Event-ID: 0`), and still get the
 * entries of a stream a backend created meanwhile; past it, such a stream is read from its end
 * under REDIS_START=end, like the stream of a name nobody ever subscribed to. A day covers a laptop
 * asleep overnight; what it costs a made-up name is one alarm and one Redis read, once.
 */
export const FORGET_AFTER_MS = 24 * 60 * 60 * 1000;

/** Stores events and runs `alsoInTransaction` in the same transaction, then waits until durable. */
export type Commit = (events: readonly EventInput[], alsoInTransaction: () => void) => Promise<unknown>;

export class RedisPoller {
  private readonly state: RedisIngestState;

  constructor(
    sql: SqlStorage,
    private readonly config: RedisConfig,
    private readonly limits: EventLimits,
    private readonly log: Logger,
    channel: string,
    /** Upstash's REST API; a test passes a stream it scripts (test/worker/redis-poller.test.ts). */
    private readonly reader: StreamReader = new RedisStreamReader(config),
    private readonly clock: Pick<Clock, "now"> = systemClock,
  ) {
    this.state = new RedisIngestState(sql, config, channel);
  }

  /** A subscriber came: true if this call started polling (the caller arms an alarm now). */
  start(): boolean {
    if (!this.state.isPolled || this.state.polling) return false;
    this.state.polling = true;
    return true;
  }

  /**
   * One poll; returns when to run next (ms from now), or null to stop. Without subscribers it reads
   * nothing, and runs again only to forget a cursor that never passed an entry (idle).
   */
  async poll(subscribed: boolean, commit: Commit): Promise<number | null> {
    // Not a channel REDIS_CHANNEL_PREFIXES polls: no loop.
    if (this.state.streamKey === null) {
      this.state.polling = false;
      return null;
    }
    if (!subscribed) {
      // A subscriber coming now must start polling at once (start()), not at the idle call's time.
      this.state.polling = false;
      return this.idle();
    }
    this.state.polling = true;
    if (this.state.forgetAt !== null) this.state.forgetAt = null;
    let full = false;
    try {
      full = await this.ingest(commit);
    } catch (error) {
      this.state.recordFailure(error);
      this.log.error("redis poll failed", { stream: this.state.streamKey, error: this.state.status().lastPoll?.error });
    }
    return this.state.nextDelayMs(full);
  }

  /**
   * Nobody subscribed: a cursor past an entry stays forever (exactly once across any gap); one that
   * never passed an entry is forgotten FORGET_AFTER_MS after the first idle poll if the stream still
   * does not exist. If a backend created it meanwhile the cursor stays, "before the first entry",
   * for the next subscriber to read the stream from there.
   */
  private async idle(): Promise<number | null> {
    const state = this.state;
    const key = state.streamKey;
    if (key === null || state.cursor !== STREAM_START) return null;
    const now = this.clock.now();
    const forgetAt = state.forgetAt;
    if (forgetAt === null) {
      state.forgetAt = now + FORGET_AFTER_MS;
      return FORGET_AFTER_MS;
    }
    // An alarm early for another job of the object.
    if (now < forgetAt) return forgetAt - now;
    try {
      if ((await this.reader.lastEntryId(key)) === STREAM_START) state.forget();
      else state.forgetAt = null;
    } catch (error) {
      state.recordFailure(error);
      this.log.error("redis poll failed", { stream: key, error: state.status().lastPoll?.error });
      return state.nextDelayMs(false);
    }
    state.recordSuccess(0);
    return null;
  }

  status(): RedisStatus {
    return this.state.status();
  }

  /** Reads the next batch after the stored cursor; returns true if the batch was full (more may wait). */
  private async ingest(commit: Commit): Promise<boolean> {
    const state = this.state;
    const key = state.streamKey;
    if (key === null) return false;
    let cursor = state.cursor;
    if (cursor === null) {
      // First poll ever: start at the stream's current end (or its beginning, by REDIS_START).
      cursor = state.startsAtBeginning ? state.initialCursor : await this.reader.lastEntryId(key);
      const startAt = cursor;
      await commit([], () => state.setCursor(startAt));
    }
    const entries = await this.reader.readAfter(key, cursor, this.config.batchSize);
    if (entries.length > 0) {
      const events: EventInput[] = [];
      for (const entry of entries) {
        const result = entryToEvent(entry, this.limits, this.log);
        if ("event" in result) events.push(result.event);
        else this.log.warn("redis entry skipped", { stream: key, entry: entry.id, reason: result.skipped });
      }
      const newCursor = entries[entries.length - 1]!.id;
      await commit(events, () => state.setCursor(newCursor));
    }
    state.recordSuccess(entries.length);
    return entries.length >= this.config.batchSize;
  }
}
