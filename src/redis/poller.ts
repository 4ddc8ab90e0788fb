/**
 * The Redis poll loop of one channel: driven by the channel object's
 * alarms, only while the channel has subscribers, each poll reading the
 * entries after the stored cursor and committing them as events together
 * with the new cursor (one transaction, so nothing is lost or repeated
 * across restarts).
 */
import type { EventInput } from "../channel/events";
import type { RedisConfig } from "../config";
import type { EventLimits } from "../channel/event-rules";
import type { Logger } from "../log";
import { entryToEvent, RedisIngestState, type RedisStatus } from "./ingest";
import { RedisStreamReader, type StreamReader } from "./stream-reader";

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
  ) {
    this.state = new RedisIngestState(sql, config, channel);
  }

  /** A subscriber came: true if this call started polling (the caller arms an alarm now). */
  start(): boolean {
    if (!this.state.isPolled || this.state.polling) return false;
    this.state.polling = true;
    return true;
  }

  /** One poll; returns when to poll next (ms from now), or null to stop (nobody subscribed). */
  async poll(subscribed: boolean, commit: Commit): Promise<number | null> {
    // Not a channel REDIS_CHANNEL_PREFIXES polls: no loop.
    if (!subscribed || this.state.streamKey === null) {
      this.state.polling = false;
      return null;
    }
    this.state.polling = true;
    let full = false;
    try {
      full = await this.ingest(commit);
    } catch (error) {
      this.state.recordFailure(error);
      this.log.error("redis poll failed", { stream: this.state.streamKey, error: this.state.status().lastPoll?.error });
    }
    return this.state.nextDelayMs(full);
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
