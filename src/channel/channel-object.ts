/**
 * One Durable Object per channel: it owns the channel's history and open
 * streams, numbers events, and fans each one out.
 *
 * Public surface (used by the Worker only):
 * - `fetch(GET /subscribe)`: an SSE stream, replaying after `X-Relay-After` if given;
 * - `publish(events)`: stores events durably, then broadcasts them; returns their ids;
 * - `stats()`: subscriber count, history figures and Redis ingestion status;
 * - `alarm()`: while it has subscribers, polls the channel's Redis Stream (if configured).
 *
 * Delivery invariant: an event reaches streams only after its write is
 * durable (`storage.sync()`), and `deliveredId` is the highest such id.
 * Every subscriber has a cursor (last id it got). Live subscribers sit at
 * `deliveredId` and get each broadcast's bytes; the others replay from
 * SQLite, page by page as their stream drains, until they reach it. Both
 * paths move the same cursor, so replay and live meet with no gap and no
 * duplicate.
 */
import { DurableObject } from "cloudflare:workers";
import { configFromEnv, type RelayConfig } from "../config";
import type { Env } from "../env";
import type { EventInput } from "../http/validation";
import { concatBytes, encodeComment, encodeEvent, encodeText, formatComment, formatRetry } from "../sse/codec";
import { SSE_HEADERS } from "../sse/headers";
import { lostEventsFrame } from "./lost-events";
import { ChannelHistory, type StoredEvent } from "./history";
import { Subscriber, type CloseReason } from "./subscriber";
import { RedisIngestState, entryToEvent, type RedisStatus } from "../redis/ingest";
import type { IdempotencyRequest } from "../http/idempotency";
import { errorResponse } from "../http/errors";
import { IdempotencyStore, type Reservation } from "./idempotency-store";
import { RedisStreamReader } from "../redis/stream-reader";

/** What a publish did: stored new events, returned a retried request's ids, or refused a reused key. */
export type PublishOutcome =
  | { readonly status: "published" | "replayed"; readonly ids: readonly string[] }
  | { readonly status: "key-conflict" };

export interface ChannelStats {
  readonly subscribers: number;
  /** Unsent bytes queued for all subscribers together (each is bounded by MAX_BUFFERED_BYTES). */
  readonly bufferedBytes: number;
  /** Streams the relay ended since this object started, by reason. */
  readonly closedStreams: Readonly<Record<"overflow" | "stalled" | "expired", number>>;
  readonly lastEventId: string | null;
  readonly oldestEventId: string | null;
  readonly eventsRetained: number;
  readonly historyLimit: number;
  readonly redis: RedisStatus | { readonly enabled: false };
}

/** Header the Worker sets on the internal subscribe request: replay after this id. */
export const AFTER_HEADER = "X-Relay-After";
/** Header carrying the channel's name, which the object needs to find its Redis Stream. */
export const CHANNEL_HEADER = "X-Relay-Channel";
/** Header carrying when the subscriber's token expires (ms since epoch): the stream ends then. */
export const EXPIRES_HEADER = "X-Relay-Expires";

/** Rows read from SQLite per replay step. */
const REPLAY_PAGE_ROWS = 64;
const HEARTBEAT = encodeComment("heartbeat");

export class ChannelObject extends DurableObject<Env> {
  private readonly config: RelayConfig;
  private readonly history: ChannelHistory;
  private readonly subscribers = new Set<Subscriber>();
  /** Encoded frames stored but not yet durable, waiting to be broadcast. */
  private readonly pendingFrames = new Map<number, Uint8Array>();
  /** Highest event id that is durable and has been handed to live subscribers. */
  private deliveredId: number;
  /** Highest event id known durable (delivery follows in a microtask). */
  private durableId: number;
  private deliveryScheduled = false;
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  private readonly closedStreams = { overflow: 0, stalled: 0, expired: 0 };
  private readonly redis: { readonly state: RedisIngestState; readonly reader: RedisStreamReader } | null;
  private readonly idempotency: IdempotencyStore;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.config = configFromEnv(env);
    this.history = new ChannelHistory(ctx.storage, this.config.historyLimit);
    // Whatever is in storage when the object starts is durable by definition.
    this.deliveredId = this.history.lastEventId;
    this.durableId = this.deliveredId;
    this.idempotency = new IdempotencyStore(ctx.storage.sql, this.config.idempotencyTtlSeconds * 1000);
    const redis = this.config.redis;
    this.redis = redis && { state: new RedisIngestState(ctx.storage.sql, redis), reader: new RedisStreamReader(redis) };
  }

  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (request.method !== "GET" || url.pathname !== "/subscribe") {
      return new Response("not found", { status: 404 });
    }
    if (this.subscribers.size >= this.config.maxSubscribersPerChannel) {
      return errorResponse(
        503,
        "channel_full",
        `This channel has its maximum of ${this.config.maxSubscribersPerChannel} subscribers (MAX_SUBSCRIBERS_PER_CHANNEL); retry later.`,
        { "Retry-After": "5" },
      );
    }
    const afterHeader = request.headers.get(AFTER_HEADER);
    const after = afterHeader === null ? undefined : Number(afterHeader);
    const expiresHeader = request.headers.get(EXPIRES_HEADER);
    const lifetimeEnd = Date.now() + this.config.maxStreamSeconds * 1000;
    const closeAt = expiresHeader === null ? lifetimeEnd : Math.min(lifetimeEnd, Number(expiresHeader));
    const subscriber = this.subscribe(after, closeAt);
    request.signal?.addEventListener("abort", () => subscriber.close("disconnected"));
    if (expiresHeader !== null) {
      // A token's expiry is enforced to the moment; plain lifetimes are checked on heartbeat ticks.
      const timer = setTimeout(() => subscriber.close("expired"), Math.max(0, closeAt - Date.now()));
      subscriber.onClosed(() => clearTimeout(timer));
    }
    const channel = request.headers.get(CHANNEL_HEADER);
    if (channel !== null) this.startRedisPolling(channel);
    return new Response(subscriber.stream, { status: 200, headers: SSE_HEADERS });
  }

  /**
   * Stores events (all or none), waits until they are durable, then
   * broadcasts them. With an idempotency key seen before, stores nothing and
   * returns the first request's ids (or a conflict if the events differ).
   */
  async publish(events: readonly EventInput[], idempotency?: IdempotencyRequest): Promise<PublishOutcome> {
    if (idempotency) {
      const seen = this.idempotency.lookup(idempotency.key, idempotency.fingerprint);
      if (seen) {
        return seen.fingerprint === idempotency.fingerprint
          ? { status: "replayed", ids: seen.ids }
          : { status: "key-conflict" };
      }
    }
    const stored = await this.commit(
      events,
      idempotency &&
        ((inserted) => this.idempotency.remember(idempotency.key, idempotency.fingerprint, idsOf(inserted))),
    );
    return { status: "published", ids: idsOf(stored) };
  }

  /** A batch over several channels reserves its key on each before storing anything (see IdempotencyStore). */
  reserveIdempotencyKey(idempotency: IdempotencyRequest): Reservation {
    return this.idempotency.reserve(idempotency.key, idempotency.fingerprint);
  }

  /** Drops a reservation of a batch that was refused. */
  releaseIdempotencyKey(idempotency: IdempotencyRequest): void {
    this.idempotency.release(idempotency.key, idempotency.fingerprint);
  }

  /** One Redis poll per alarm while the channel has subscribers; none (and no Redis commands) when idle. */
  override async alarm(): Promise<void> {
    const redis = this.redis;
    if (!redis) return;
    if (this.subscribers.size === 0) {
      redis.state.polling = false;
      return;
    }
    let full = false;
    try {
      full = await this.ingestFromRedis(redis.state, redis.reader);
    } catch (error) {
      redis.state.recordFailure(error);
      console.error(
        JSON.stringify({
          msg: "redis poll failed",
          stream: redis.state.streamKey,
          error: redis.state.status().lastPoll?.error,
        }),
      );
    }
    await this.ctx.storage.setAlarm(Date.now() + redis.state.nextDelayMs(full));
  }

  async stats(): Promise<ChannelStats> {
    const history = this.history.stats();
    let bufferedBytes = 0;
    for (const subscriber of this.subscribers) bufferedBytes += subscriber.bufferedBytes;
    return {
      subscribers: this.subscribers.size,
      bufferedBytes,
      closedStreams: { ...this.closedStreams },
      lastEventId: history.lastEventId > 0 ? String(history.lastEventId) : null,
      oldestEventId: history.oldestEventId === null ? null : String(history.oldestEventId),
      eventsRetained: history.eventsRetained,
      historyLimit: this.config.historyLimit,
      redis: this.redis ? this.redis.state.status() : { enabled: false },
    };
  }

  /**
   * Stores events and runs `alsoInTransaction` in one transaction, waits for
   * durability, then broadcasts. Both HTTP publishes and Redis entries come
   * through here, so they share one id sequence and interleave in arrival order.
   */
  private async commit(
    events: readonly EventInput[],
    alsoInTransaction?: (stored: readonly StoredEvent[]) => void,
  ): Promise<StoredEvent[]> {
    const stored = this.history.append(events, alsoInTransaction);
    for (const event of stored) this.pendingFrames.set(event.id, encodeStored(event));
    await this.ctx.storage.sync();
    if (stored.length > 0) this.markDurable(stored[stored.length - 1]!.id);
    return stored;
  }

  /**
   * Records that events up to `id` are durable and delivers them in a
   * microtask: publishes whose durability waits end together are then
   * written to every subscriber as one buffer, in one pass.
   */
  private markDurable(id: number): void {
    this.durableId = Math.max(this.durableId, id);
    if (this.deliveryScheduled) return;
    this.deliveryScheduled = true;
    queueMicrotask(() => {
      this.deliveryScheduled = false;
      this.deliverUpTo(this.durableId);
    });
  }

  /** Reads the next batch after the stored cursor; returns true if the batch was full (more may wait). */
  private async ingestFromRedis(state: RedisIngestState, reader: RedisStreamReader): Promise<boolean> {
    const key = state.streamKey;
    if (key === null) return false;
    let cursor = state.cursor;
    if (cursor === null) {
      // First poll ever: start at the stream's current end (or its beginning, by REDIS_START).
      cursor = state.startsAtBeginning ? state.initialCursor : await reader.lastEntryId(key);
      const startAt = cursor;
      await this.commit([], () => state.setCursor(startAt));
    }
    const entries = await reader.readAfter(key, cursor, this.config.redis!.batchSize);
    if (entries.length > 0) {
      const events: EventInput[] = [];
      for (const entry of entries) {
        const result = entryToEvent(entry, this.config);
        if ("event" in result) events.push(result.event);
        else
          console.warn(
            JSON.stringify({ msg: "redis entry skipped", stream: key, entry: entry.id, reason: result.skipped }),
          );
      }
      const newCursor = entries[entries.length - 1]!.id;
      await this.commit(events, () => state.setCursor(newCursor));
    }
    state.recordSuccess(entries.length);
    return entries.length >= this.config.redis!.batchSize;
  }

  private startRedisPolling(channel: string): void {
    const redis = this.redis;
    if (!redis?.state.isPolled(channel)) return;
    redis.state.bindChannel(channel);
    if (redis.state.polling) return;
    redis.state.polling = true;
    void this.ctx.storage.setAlarm(Date.now());
  }

  private subscribe(after: number | undefined, closeAt: number): Subscriber {
    let cursor = after ?? this.deliveredId;
    const greeting: string[] = [formatComment("connected"), formatRetry(this.config.retryMs)];
    if (after !== undefined && after > this.history.lastEventId) {
      // An id this channel never issued (history reset, or another deployment's id):
      // say so, then send everything retained.
      const oldest = this.history.oldestEventId();
      greeting.push(lostEventsFrame({ reason: "unknown-id", lastEventId: after, firstAvailableId: oldest }));
      cursor = oldest === null ? this.deliveredId : oldest - 1;
    }
    const subscriber = new Subscriber({
      cursor,
      live: cursor === this.deliveredId,
      maxBufferedBytes: this.config.maxBufferedBytes,
      closeAt,
      onDemand: (s) => this.replay(s),
      onClose: (s, reason) => this.remove(s, reason),
    });
    subscriber.write(encodeText(greeting.join("")));
    this.subscribers.add(subscriber);
    this.startHeartbeat();
    return subscriber;
  }

  /** Marks events up to `id` durable and writes every newly durable frame to live subscribers. */
  private deliverUpTo(id: number): void {
    if (id <= this.deliveredId) return;
    const from = this.deliveredId;
    const frames: Uint8Array[] = [];
    for (let next = from + 1; next <= id; next++) {
      const frame = this.pendingFrames.get(next);
      if (frame) frames.push(frame);
      this.pendingFrames.delete(next);
    }
    this.deliveredId = id;
    // One buffer for the whole burst, shared by every subscriber.
    const bytes = concatBytes(frames);
    const complete = frames.length === id - from;
    for (const subscriber of this.subscribers) {
      if (subscriber.live && subscriber.cursor === from && complete) {
        if (subscriber.fits(bytes.byteLength)) {
          subscriber.cursor = id;
          subscriber.push(bytes);
          continue;
        }
        // Half its budget behind already: a slow reader; cut it, its browser resumes from history.
        if (subscriber.isBacklogged) {
          subscriber.close("overflow");
          continue;
        }
        // Healthy, but the burst is bigger than its budget: stream it from history as it drains.
      }
      subscriber.live = false;
      this.replay(subscriber);
    }
  }

  /**
   * Feeds a catching-up subscriber from history while its stream has room,
   * in pages bounded by rows and by the subscriber's byte budget, so replay
   * never overflows a stream (it waits for the next pull instead).
   */
  private replay(subscriber: Subscriber): void {
    this.replayPages(subscriber);
    if (!subscriber.live) subscriber.waitForRoom();
  }

  private replayPages(subscriber: Subscriber): void {
    while (!subscriber.live && subscriber.hasRoomForReplay) {
      if (subscriber.cursor >= this.deliveredId) {
        // Caught up (or waiting for an id that is not yet durable).
        subscriber.live = subscriber.cursor === this.deliveredId;
        return;
      }
      const page = this.history.readRange(subscriber.cursor, this.deliveredId, REPLAY_PAGE_ROWS);
      const chunks: Uint8Array[] = [];
      let size = 0;
      let cursor = subscriber.cursor;
      const firstId = page[0]?.id ?? this.deliveredId + 1;
      if (firstId > cursor + 1) {
        // Pruned before this subscriber got them: tell the client, then go on with what is kept.
        const lost = encodeText(
          lostEventsFrame({ reason: "history-pruned", lastEventId: cursor, firstAvailableId: page[0]?.id ?? null }),
        );
        chunks.push(lost);
        size += lost.byteLength;
        if (page.length === 0) cursor = this.deliveredId;
      }
      for (const event of page) {
        const frame = encodeStored(event);
        if (cursor > subscriber.cursor && !subscriber.fits(size + frame.byteLength)) break;
        chunks.push(frame);
        size += frame.byteLength;
        cursor = event.id;
      }
      subscriber.cursor = cursor;
      if (!subscriber.push(concatBytes(chunks))) return;
    }
  }

  private remove(subscriber: Subscriber, reason: CloseReason): void {
    this.subscribers.delete(subscriber);
    if (reason === "overflow" || reason === "stalled" || reason === "expired") this.closedStreams[reason] += 1;
    if (reason === "overflow" || reason === "stalled") {
      console.log(JSON.stringify({ msg: "subscriber dropped", reason, subscribers: this.subscribers.size }));
    }
    if (this.subscribers.size === 0) this.stopHeartbeat();
  }

  /**
   * Heartbeats go out every half HEARTBEAT_MS. A write into a connection
   * whose close was never reported is often absorbed by buffers and only the
   * next one fails; two writes per interval keep the subscriber count right
   * within one HEARTBEAT_MS.
   */
  private startHeartbeat(): void {
    if (this.heartbeatTimer !== undefined) return;
    this.heartbeatTimer = setInterval(
      () => {
        const stalled: Subscriber[] = [];
        for (const subscriber of this.subscribers)
          if (subscriber.heartbeat(HEARTBEAT) === "stalled") stalled.push(subscriber);
        // Many streams stalled at once means this object is behind on its own work, not that their
        // peers died: closing them would add a reconnect storm to the overload.
        if (stalled.length <= Math.max(1, this.subscribers.size / 10))
          for (const subscriber of stalled) subscriber.close("stalled");
      },
      Math.max(25, Math.floor(this.config.heartbeatMs / 2)),
    );
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer === undefined) return;
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }
}

function idsOf(events: readonly StoredEvent[]): string[] {
  return events.map((event) => String(event.id));
}

function encodeStored(event: StoredEvent): Uint8Array {
  return encodeEvent({
    id: String(event.id),
    data: event.data,
    ...(event.event === null ? {} : { event: event.event }),
  });
}
