/**
 * One direct-mode stream (the channel object holds it): the shared outlet
 * (src/stream/outlet.ts: byte budget, heartbeat ticks, lifetime, ends)
 * plus what direct delivery needs of it: the cursor, whether it is live
 * (gets broadcasts) or catching up from history, and a way to be fed again
 * once its queue has room.
 *
 * A healthy subscriber handed a burst bigger than its budget is not cut:
 * the channel switches it to reading history at its own pace (see
 * DirectStreams.deliver); one already half its budget behind is cut
 * ("overflow") and its browser resumes from history.
 */
import type { Clock } from "../stream/clock";
import type { CloseReason } from "../stream/close-reasons";
import { type OutletSettings, StreamOutlet } from "../stream/outlet";
import { positionFrame } from "../events/position-event";

export interface SubscriberOptions {
  /** Id of the last event this subscriber has (replay resumes after it). */
  readonly cursor: number;
  /** Whether the subscriber starts caught up (live) or must replay history first. */
  readonly live: boolean;
  readonly outlet: OutletSettings;
  readonly clock: Clock;
  /** Called when the stream has room for more: the channel pumps history into it. */
  readonly onDemand: (subscriber: Subscriber) => void;
  /** Called once, whatever ended the stream. */
  readonly onClose: (subscriber: Subscriber, reason: CloseReason) => void;
}

/** How often a live-started subscriber that fell behind is offered more history. */
const ROOM_POLL_MS = 20;

export class Subscriber {
  readonly outlet: StreamOutlet;
  /** Id of the last event written to this stream. */
  cursor: number;
  /** Caught up: receives broadcasts directly instead of reading history. */
  live: boolean;
  private roomTimer: ReturnType<Clock["setTimeout"]> | undefined;

  constructor(private readonly options: SubscriberOptions) {
    this.cursor = options.cursor;
    this.live = options.live;
    this.outlet = new StreamOutlet(
      options.outlet,
      { key: () => String(this.cursor), frame: () => positionFrame(String(this.cursor)) },
      options.clock,
      {
        // Only a subscriber that starts behind is fed on pull(); a live one that falls behind later is
        // paced by a timer instead (waitForRoom).
        ...(options.live ? {} : { onPull: () => this.demand() }),
        onClose: (reason) => {
          if (this.roomTimer !== undefined) options.clock.clear(this.roomTimer);
          options.onClose(this, reason);
        },
      },
    );
  }

  get stream(): ReadableStream<Uint8Array> {
    return this.outlet.readable;
  }

  get bufferedBytes(): number {
    return this.outlet.bufferedBytes;
  }

  /** Room for history replay: keeps replay pages from filling the whole budget. */
  get hasRoomForReplay(): boolean {
    return !this.outlet.closed && this.outlet.bufferedBytes < this.options.outlet.bufferBytes / 2;
  }

  /** Already half its budget behind: a slow reader, not just a big burst. */
  get isBacklogged(): boolean {
    return this.outlet.bufferedBytes >= this.options.outlet.bufferBytes / 2;
  }

  /** Replay stopped for lack of room (or a wait): ask to be fed again shortly, or after `ms`. */
  waitForRoom(ms = ROOM_POLL_MS): void {
    // Also for a subscriber that started behind (it has pull()): a replay held back by its rate or the
    // channel's replay gate enqueued nothing, so no read would call pull() again.
    if (this.roomTimer !== undefined || this.outlet.closed) return;
    this.roomTimer = this.options.clock.setTimeout(
      () => {
        this.roomTimer = undefined;
        this.demand();
      },
      Math.max(ROOM_POLL_MS, ms),
    );
  }

  close(reason: CloseReason): void {
    this.outlet.close(reason);
  }

  private demand(): void {
    if (!this.live && !this.outlet.closed) this.options.onDemand(this);
  }
}
