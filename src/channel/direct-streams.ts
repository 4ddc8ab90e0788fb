/**
 * "Direct" delivery: the channel object holds its subscribers' SSE streams
 * itself (the relay's first design). Cheapest per delivery, but an object
 * with an open stream never hibernates, so it bills duration around the
 * clock while anyone watches. Chosen per channel prefix (DIRECT_CHANNEL_PREFIXES).
 *
 * Every subscriber has a cursor (last id it got). Live subscribers sit at
 * the channel's delivered id and get each broadcast's bytes; the others
 * replay from SQLite, page by page as their stream drains, until they reach
 * it. Both paths move the same cursor, so replay and live meet with no gap
 * and no duplicate.
 */
import type { Logger } from "../log";
import { encodeComment, encodeText, formatComment, formatRetry } from "../sse/codec";
import type { ChannelHistory } from "./history";
import { ReplayAllowance, type ReplayGate, type ReplaySettings } from "./replay-limits";
import { ClientCount, shouldCut } from "./stall-rule";
import { positionFrame } from "./position-event";
import { catchUpAt, readPage, resumePoint } from "./replay";
import { type CloseReason, Subscriber } from "./subscriber";

const position = (cursor: number): Uint8Array => encodeText(positionFrame(String(cursor)));

const HEARTBEAT = encodeComment("heartbeat");

export interface DirectSettings {
  readonly retryMs: number;
  readonly heartbeatMs: number;
  readonly maxBufferedBytes: number;
  readonly maxStreamSeconds: number;
  readonly replay: ReplaySettings;
}

/** What the channel object shares with its direct streams. */
export interface DirectContext {
  /** Highest id that is durable and has been handed to live subscribers. */
  readonly deliveredId: () => number;
  readonly closed: ClosedStreams;
  /** The channel's one count of streams catching up, shared with hibernating mode. */
  readonly replayGate: ReplayGate;
  readonly log: Logger;
  /** Called when a stream opens or ends (presence). */
  readonly onSizeChange?: () => void;
}

export type ClosedStreams = Record<"overflow" | "stalled" | "expired", number>;

export class DirectStreams {
  private readonly subscribers = new Set<Subscriber>();
  private readonly allowances = new WeakMap<Subscriber, ReplayAllowance>();
  private readonly clients = new WeakMap<Subscriber, string>();
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  /** One pending presence wake-up at most (a newer one replaces it). */
  private wakeTimer: ReturnType<typeof setTimeout> | undefined;
  /** When the heartbeat timer last fired: a late tick means this object is behind on its own work. */
  private lastTickAt = 0;
  private readonly deliveredId: () => number;

  constructor(
    private readonly history: ChannelHistory,
    private readonly settings: DirectSettings,
    private readonly context: DirectContext,
  ) {
    this.deliveredId = context.deliveredId;
  }

  get size(): number {
    return this.subscribers.size;
  }

  get bufferedBytes(): number {
    let total = 0;
    for (const subscriber of this.subscribers) total += subscriber.bufferedBytes;
    return total;
  }

  /** A new stream, replaying after `after` if given; ends cleanly at MAX_STREAM_SECONDS or its token's expiry. */
  /** Open streams of one client (see MAX_STREAMS_PER_CLIENT). */
  countClient(client: string): number {
    let count = 0;
    for (const subscriber of this.subscribers) if (this.clients.get(subscriber) === client) count += 1;
    return count;
  }

  open(after: number | undefined, tokenExpiresAt: number | null, client: string | null = null): Subscriber {
    const lifetimeEnd = Date.now() + this.settings.maxStreamSeconds * 1000;
    const closeAt = tokenExpiresAt === null ? lifetimeEnd : Math.min(lifetimeEnd, tokenExpiresAt);
    const greeting: string[] = [formatComment("connected"), formatRetry(this.settings.retryMs)];
    let cursor = after ?? this.deliveredId();
    if (after !== undefined) {
      const resume = resumePoint(this.history, after);
      if (resume.notice !== null) greeting.push(resume.notice);
      cursor = resume.cursor;
    }
    // The resume point, before any event: a stream that ends before its first event still resumes here.
    greeting.push(positionFrame(String(cursor)));
    const subscriber = new Subscriber({
      cursor,
      live: cursor === this.deliveredId(),
      maxBufferedBytes: this.settings.maxBufferedBytes,
      closeAt,
      onDemand: (s) => this.replay(s),
      onClose: (s, reason) => this.remove(s, reason),
      position,
    });
    subscriber.write(encodeText(greeting.join("")));
    this.subscribers.add(subscriber);
    if (client !== null) this.clients.set(subscriber, client);
    this.startHeartbeat();
    this.context.onSizeChange?.();
    if (tokenExpiresAt !== null) {
      // A token's expiry is enforced to the moment; plain lifetimes are checked on heartbeat ticks.
      const timer = setTimeout(() => subscriber.close("expired"), Math.max(0, closeAt - Date.now()));
      subscriber.onClosed(() => clearTimeout(timer));
    }
    return subscriber;
  }

  /** Writes the frames of events from+1…to (complete: all of them) to every live subscriber. */
  deliver(from: number, to: number, bytes: Uint8Array, complete: boolean): void {
    for (const subscriber of this.subscribers) {
      if (subscriber.live && subscriber.cursor === from && complete) {
        if (subscriber.fits(bytes.byteLength)) {
          subscriber.cursor = to;
          subscriber.announced = to;
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
   * in pages bounded by the subscriber's byte budget, so replay never
   * overflows a stream (it waits for the next pull instead).
   */
  private replay(subscriber: Subscriber): void {
    const pageBytes = this.settings.maxBufferedBytes / 2;
    while (!subscriber.live && subscriber.hasRoomForReplay) {
      const delivered = this.deliveredId();
      if (subscriber.cursor >= delivered) {
        // Caught up (or waiting for an id that is not yet durable).
        subscriber.live = subscriber.cursor === delivered;
        this.context.replayGate.leave(subscriber);
        break;
      }
      const allowance = this.allowanceOf(subscriber).check(pageBytes);
      if ("exhausted" in allowance) {
        // Its share of replay is spent: a clean end, the browser resumes from here on a new connection.
        subscriber.close("expired");
        return;
      }
      if ("waitMs" in allowance) break;
      const client = this.clients.get(subscriber) ?? subscriber;
      const { ask, page: peeked } = catchUpAt(this.history, subscriber.cursor, delivered, pageBytes, client);
      if (this.context.replayGate.enter(subscriber, ask) > 0) break;
      const page = peeked ?? readPage(this.history, subscriber.cursor, delivered, pageBytes);
      subscriber.cursor = page.cursor;
      this.allowanceOf(subscriber).took(page.bytes.byteLength);
      if (!subscriber.push(page.bytes)) return;
    }
    if (!subscriber.live) subscriber.waitForRoom();
  }

  private allowanceOf(subscriber: Subscriber): ReplayAllowance {
    let allowance = this.allowances.get(subscriber);
    if (!allowance) {
      allowance = new ReplayAllowance(this.settings.replay);
      this.allowances.set(subscriber, allowance);
    }
    return allowance;
  }

  private remove(subscriber: Subscriber, reason: CloseReason): void {
    this.subscribers.delete(subscriber);
    this.context.replayGate.leave(subscriber);
    if (reason === "overflow" || reason === "stalled" || reason === "expired") this.context.closed[reason] += 1;
    if (reason === "overflow" || reason === "stalled") {
      this.context.log.info("subscriber dropped", { reason, subscribers: this.subscribers.size });
    }
    if (this.subscribers.size === 0) this.stopHeartbeat();
    this.context.onSizeChange?.();
  }

  /** Runs `run` after `ms` (presence's interval); replaces a wake-up already pending. */
  wakeAfter(ms: number, run: () => void): void {
    if (this.wakeTimer !== undefined) clearTimeout(this.wakeTimer);
    this.wakeTimer = setTimeout(
      () => {
        this.wakeTimer = undefined;
        run();
      },
      Math.max(0, ms),
    );
  }

  /** A frame without an id (presence) to every stream with room for it; one without room misses it. */
  sendFrame(bytes: Uint8Array): void {
    for (const subscriber of this.subscribers) if (subscriber.fits(bytes.byteLength)) subscriber.push(bytes);
  }

  /**
   * Heartbeats go out every half HEARTBEAT_MS. A write into a connection
   * whose close was never reported is often absorbed by buffers and only the
   * next one fails; two writes per interval keep the subscriber count right
   * within one HEARTBEAT_MS.
   */
  private startHeartbeat(): void {
    if (this.heartbeatTimer !== undefined) return;
    const interval = Math.max(25, Math.floor(this.settings.heartbeatMs / 2));
    this.lastTickAt = Date.now();
    this.heartbeatTimer = setInterval(() => {
      const now = Date.now();
      const late = now - this.lastTickAt - interval;
      this.lastTickAt = now;
      const stalled: Subscriber[] = [];
      const all = new ClientCount();
      const stalledClients = new ClientCount();
      for (const subscriber of this.subscribers) {
        const client = this.clients.get(subscriber) ?? subscriber;
        all.add(client);
        if (subscriber.heartbeat(HEARTBEAT, now) === "stalled") {
          stalled.push(subscriber);
          stalledClients.add(client);
        }
      }
      // See stall-rule.ts: this object's own lateness, or stalls spread over many clients, exempt them
      // for a while.
      const tick = { lateMs: late, intervalMs: interval };
      for (const subscriber of stalled) {
        if (shouldCut(subscriber.stalledTicks, tick, stalledClients.distinct, all.distinct))
          subscriber.close("stalled");
      }
    }, interval);
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer === undefined) return;
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }
}
