/**
 * One Durable Object per channel: it owns the channel's history and open
 * streams, numbers events, and fans each one out.
 *
 * Public surface (used by the Worker only):
 * - `fetch(GET /subscribe)`: an SSE stream, replaying after `X-Relay-After` if given;
 * - `publish(events)`: stores events durably, then broadcasts them; returns their ids;
 * - `stats()`: subscriber count and history figures.
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

export interface PublishedEvent {
  readonly id: string;
}

export interface ChannelStats {
  readonly subscribers: number;
  readonly lastEventId: string | null;
  readonly oldestEventId: string | null;
  readonly eventsRetained: number;
  readonly historyLimit: number;
}

/** Header the Worker sets on the internal subscribe request: replay after this id. */
export const AFTER_HEADER = "X-Relay-After";

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
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.config = configFromEnv(env);
    this.history = new ChannelHistory(ctx.storage, this.config.historyLimit);
    // Whatever is in storage when the object starts is durable by definition.
    this.deliveredId = this.history.lastEventId;
  }

  override async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    if (request.method !== "GET" || url.pathname !== "/subscribe") {
      return new Response("not found", { status: 404 });
    }
    const afterHeader = request.headers.get(AFTER_HEADER);
    const after = afterHeader === null ? undefined : Number(afterHeader);
    const subscriber = this.subscribe(after);
    request.signal?.addEventListener("abort", () => subscriber.close("disconnected"));
    return new Response(subscriber.stream, { status: 200, headers: SSE_HEADERS });
  }

  /** Stores events (all or none), waits until they are durable, then broadcasts them. */
  async publish(events: readonly EventInput[]): Promise<PublishedEvent[]> {
    if (events.length === 0) return [];
    const stored = this.history.append(events);
    for (const event of stored) this.pendingFrames.set(event.id, encodeStored(event));
    await this.ctx.storage.sync();
    this.deliverUpTo(stored[stored.length - 1]!.id);
    return stored.map((event) => ({ id: String(event.id) }));
  }

  async stats(): Promise<ChannelStats> {
    const history = this.history.stats();
    return {
      subscribers: this.subscribers.size,
      lastEventId: history.lastEventId > 0 ? String(history.lastEventId) : null,
      oldestEventId: history.oldestEventId === null ? null : String(history.oldestEventId),
      eventsRetained: history.eventsRetained,
      historyLimit: this.config.historyLimit,
    };
  }

  private subscribe(after: number | undefined): Subscriber {
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
    for (const subscriber of this.subscribers) {
      if (subscriber.live && subscriber.cursor === from && frames.length === id - from) {
        subscriber.cursor = id;
        subscriber.write(bytes);
      } else {
        subscriber.live = false;
        this.replay(subscriber);
      }
    }
  }

  /** Feeds a catching-up subscriber from history while its stream has room. */
  private replay(subscriber: Subscriber): void {
    while (!subscriber.live && subscriber.hasRoomForReplay) {
      if (subscriber.cursor >= this.deliveredId) {
        // Caught up (or waiting for an id that is not yet durable).
        subscriber.live = subscriber.cursor === this.deliveredId;
        return;
      }
      const page = this.history.readRange(subscriber.cursor, this.deliveredId, REPLAY_PAGE_ROWS);
      const firstId = page[0]?.id ?? this.deliveredId + 1;
      const chunks: Uint8Array[] = [];
      if (firstId > subscriber.cursor + 1) {
        // Pruned before this subscriber got them: tell the client, then go on with what is kept.
        chunks.push(
          encodeText(
            lostEventsFrame({
              reason: "history-pruned",
              lastEventId: subscriber.cursor,
              firstAvailableId: page[0]?.id ?? null,
            }),
          ),
        );
      }
      for (const event of page) chunks.push(encodeStored(event));
      subscriber.cursor = page.length > 0 ? page[page.length - 1]!.id : this.deliveredId;
      if (!subscriber.write(concatBytes(chunks))) return;
    }
  }

  private remove(subscriber: Subscriber, reason: CloseReason): void {
    this.subscribers.delete(subscriber);
    if (reason !== "disconnected" && reason !== "shutdown") {
      console.log(JSON.stringify({ msg: "subscriber dropped", reason, subscribers: this.subscribers.size }));
    }
    if (this.subscribers.size === 0) this.stopHeartbeat();
  }

  private startHeartbeat(): void {
    if (this.heartbeatTimer !== undefined) return;
    this.heartbeatTimer = setInterval(() => {
      for (const subscriber of this.subscribers) subscriber.heartbeat(HEARTBEAT);
    }, this.config.heartbeatMs);
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer === undefined) return;
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }
}

function encodeStored(event: StoredEvent): Uint8Array {
  return encodeEvent({
    id: String(event.id),
    data: event.data,
    ...(event.event === null ? {} : { event: event.event }),
  });
}
