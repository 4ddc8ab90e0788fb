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
import { encodeText } from "../sse/codec";
import { type Clock, systemClock, type TimerHandle } from "../stream/clock";
import { type CloseReason, type ClosedStreams, isCounted } from "../stream/close-reasons";
import { tickIntervalMs } from "../stream/outlet";
import type { ChannelHistory } from "./history";
import type { ReplaySettings } from "../config";
import { ReplayAllowance, type ReplayGate, replayPageBytes } from "./replay-limits";
import { ClientCount, shouldCut } from "../stream/stall-rule";
import { catchUpAt, readPage, resumePoint } from "./replay";
import { Subscriber } from "./subscriber";

export interface DirectSettings {
  readonly retryMs: number;
  readonly heartbeatMs: number;
  readonly streamBufferBytes: number;
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
  /** Time for the streams' ticks and lifetimes (a fake one in tests). */
  readonly clock?: Clock;
}

export class DirectStreams {
  private readonly subscribers = new Set<Subscriber>();
  private readonly allowances = new WeakMap<Subscriber, ReplayAllowance>();
  private readonly clients = new WeakMap<Subscriber, string>();
  private heartbeatTimer: TimerHandle | undefined;
  /** One pending presence wake-up at most (a newer one replaces it). */
  private wakeTimer: TimerHandle | undefined;
  /** When the heartbeat timer last fired: a late tick means this object is behind on its own work. */
  private lastTickAt = 0;
  private readonly deliveredId: () => number;
  private readonly clock: Clock;

  constructor(
    private readonly history: ChannelHistory,
    private readonly settings: DirectSettings,
    private readonly context: DirectContext,
  ) {
    this.deliveredId = context.deliveredId;
    this.clock = context.clock ?? systemClock;
  }

  get size(): number {
    return this.subscribers.size;
  }

  get bufferedBytes(): number {
    let total = 0;
    for (const subscriber of this.subscribers) total += subscriber.bufferedBytes;
    return total;
  }

  /** Open streams of one client (see MAX_STREAMS_PER_CLIENT). */
  countClient(client: string): number {
    let count = 0;
    for (const subscriber of this.subscribers) if (this.clients.get(subscriber) === client) count += 1;
    return count;
  }

  /** A new stream, replaying after `after` if given; ends cleanly at MAX_STREAM_SECONDS or its token's expiry. */
  open(after: number | undefined, tokenExpiresAt: number | null, client: string | null = null): Subscriber {
    const lifetimeEnd = this.clock.now() + this.settings.maxStreamSeconds * 1000;
    const notices: Uint8Array[] = [];
    let cursor = after ?? this.deliveredId();
    if (after !== undefined) {
      const resume = resumePoint(this.history, after);
      if (resume.notice !== null) notices.push(encodeText(resume.notice));
      cursor = resume.cursor;
    }
    const subscriber = new Subscriber({
      cursor,
      live: cursor === this.deliveredId(),
      outlet: {
        retryMs: this.settings.retryMs,
        bufferBytes: this.settings.streamBufferBytes,
        closeAt: tokenExpiresAt === null ? lifetimeEnd : Math.min(lifetimeEnd, tokenExpiresAt),
        // The object's CPU is billed as duration, not per stream: nothing to model.
        cpuBudgetMicros: Number.POSITIVE_INFINITY,
        heartbeatMicros: 0,
      },
      clock: this.clock,
      onDemand: (s) => this.replay(s),
      onClose: (s, reason) => this.remove(s, reason),
    });
    // Greeting, any relay.lost notice, the resume point: before any event.
    subscriber.outlet.open(notices);
    this.subscribers.add(subscriber);
    if (client !== null) this.clients.set(subscriber, client);
    this.startHeartbeat();
    this.context.onSizeChange?.();
    return subscriber;
  }

  /** Writes the frames of events from+1…to (complete: all of them) to every live subscriber. */
  deliver(from: number, to: number, bytes: Uint8Array, complete: boolean): void {
    for (const subscriber of this.subscribers) {
      if (subscriber.live && subscriber.cursor === from && complete) {
        if (subscriber.outlet.fits(bytes.byteLength)) {
          subscriber.cursor = to;
          subscriber.outlet.write(bytes, 0, true);
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
    const pageBytes = replayPageBytes(this.settings.streamBufferBytes);
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
        subscriber.close("rotated");
        return;
      }
      if ("waitMs" in allowance) break;
      const client = this.clients.get(subscriber) ?? subscriber;
      const { ask, page: peeked } = catchUpAt(this.history, subscriber.cursor, delivered, pageBytes, client);
      const waitMs = this.context.replayGate.enter(subscriber, ask);
      if (waitMs > 0) {
        // Ask again when the gate says a turn may be near, not at every room poll.
        subscriber.waitForRoom(waitMs);
        return;
      }
      const page = peeked ?? readPage(this.history, subscriber.cursor, delivered, pageBytes);
      subscriber.cursor = page.cursor;
      this.allowanceOf(subscriber).took(page.bytes.byteLength);
      if (!subscriber.outlet.write(page.bytes)) return;
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
    if (isCounted(reason)) this.context.closed[reason] += 1;
    if (reason === "overflow" || reason === "stalled") {
      this.context.log.info("subscriber dropped", { reason, subscribers: this.subscribers.size });
    }
    if (this.subscribers.size === 0) this.stopHeartbeat();
    this.context.onSizeChange?.();
  }

  /** Runs `run` after `ms` (presence's interval); replaces a wake-up already pending. */
  wakeAfter(ms: number, run: () => void): void {
    if (this.wakeTimer !== undefined) this.clock.clear(this.wakeTimer);
    this.wakeTimer = this.clock.setTimeout(
      () => {
        this.wakeTimer = undefined;
        run();
      },
      Math.max(0, ms),
    );
  }

  /**
   * The channel's presence frame (no id) to every stream: in place of one still queued, or if it
   * fits (StreamOutlet.writeLatest, as a bridged stream writes it).
   */
  sendPresence(channel: string, frame: Uint8Array): void {
    for (const { outlet } of this.subscribers) outlet.writeLatest(channel, frame);
  }

  /**
   * Heartbeats go out every half HEARTBEAT_MS. A write into a connection
   * whose close was never reported is often absorbed by buffers and only the
   * next one fails; two writes per interval keep the subscriber count right
   * within one HEARTBEAT_MS.
   */
  private startHeartbeat(): void {
    if (this.heartbeatTimer !== undefined) return;
    const interval = tickIntervalMs(this.settings.heartbeatMs);
    this.lastTickAt = this.clock.now();
    this.heartbeatTimer = this.clock.setInterval(() => {
      const now = this.clock.now();
      const late = now - this.lastTickAt - interval;
      this.lastTickAt = now;
      const stalled: Subscriber[] = [];
      const all = new ClientCount();
      const stalledClients = new ClientCount();
      for (const subscriber of this.subscribers) {
        const client = this.clients.get(subscriber) ?? subscriber;
        all.add(client);
        if (subscriber.outlet.tick()) {
          stalled.push(subscriber);
          stalledClients.add(client);
        }
      }
      // See src/stream/stall-rule.ts: this object's own lateness, or stalls spread over many clients, exempt them
      // for a while.
      const tick = { lateMs: late, intervalMs: interval };
      for (const subscriber of stalled) {
        if (shouldCut(subscriber.outlet.stalledTicks, tick, stalledClients.distinct, all.distinct))
          subscriber.close("stalled");
      }
    }, interval);
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer === undefined) return;
    this.clock.clear(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }
}
