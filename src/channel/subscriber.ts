/**
 * One open SSE stream of a channel, with a hard bound on unsent bytes.
 *
 * Writes are synchronous enqueues into the stream's own queue (no promise
 * per write). The queue is measured in bytes: a subscriber that stops
 * reading fills it, and past `maxBufferedBytes` its stream is cut so it can
 * never slow the others or grow memory; its browser reconnects with
 * Last-Event-ID and catches up from history. A healthy subscriber that is
 * handed a burst bigger than its budget is not cut: the channel switches it
 * to reading history at its own pace (see ChannelObject.deliverUpTo).
 */

export type CloseReason =
  /** The client went away (stream cancelled or request aborted). */
  | "disconnected"
  /** More than maxBufferedBytes waited unsent. */
  | "overflow"
  /** Nothing was read between two heartbeat ticks while data waited. */
  | "stalled"
  /** The stream reached MAX_STREAM_SECONDS or its token expired: a clean end the browser resumes from. */
  | "expired";

export interface SubscriberOptions {
  /** Id of the last event this subscriber has (replay resumes after it). */
  readonly cursor: number;
  /** Whether the subscriber starts caught up (live) or must replay history first. */
  readonly live: boolean;
  readonly maxBufferedBytes: number;
  /** When the stream ends cleanly (ms since epoch): lifetime limit or token expiry. */
  readonly closeAt: number;
  /** Called when the stream has room for more: the channel pumps history into it. */
  readonly onDemand: (subscriber: Subscriber) => void;
  /** Called once, whatever ended the stream. */
  readonly onClose: (subscriber: Subscriber, reason: CloseReason) => void;
  /** The resume point for a cursor (src/channel/position-event.ts), written before a clean end if needed. */
  readonly position: (cursor: number) => Uint8Array;
}

/** How often a live-started subscriber that fell behind is offered more history. */
const ROOM_POLL_MS = 20;

export class Subscriber {
  readonly stream: ReadableStream<Uint8Array>;
  /** Id of the last event written to this stream. */
  cursor: number;
  /** Caught up: receives broadcasts directly instead of reading history. */
  live: boolean;
  /** The cursor the client's last event id stands for: the opening position, or the last live batch's end. */
  announced: number;

  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private readonly closeListeners: (() => void)[] = [];
  private closed = false;
  private bytesWritten = 0;
  private drainedAtLastCheck = 0;
  /** Consecutive heartbeat ticks that found unsent data and nothing drained. */
  stalledTicks = 0;
  private writtenAtLastTick = 0;
  private readonly maxBufferedBytes: number;
  private roomTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly options: SubscriberOptions) {
    this.cursor = options.cursor;
    this.announced = options.cursor;
    this.live = options.live;
    this.maxBufferedBytes = options.maxBufferedBytes;
    const source: UnderlyingSource<Uint8Array> = {
      start: (controller) => {
        this.controller = controller;
      },
      cancel: () => {
        this.finish("disconnected");
      },
    };
    // The runtime calls pull() each time it waits for data, i.e. after every chunk of a live
    // stream: a JavaScript call and a promise per delivery. Only a subscriber that starts behind
    // gets one; a live one that falls behind later is paced by a timer instead (waitForRoom).
    if (!options.live) {
      source.pull = () => {
        if (!this.live && !this.closed) options.onDemand(this);
      };
    }
    this.stream = new ReadableStream<Uint8Array>(
      source,
      // High-water mark 0: -desiredSize is exactly the unsent bytes.
      { highWaterMark: 0, size: (chunk) => chunk.byteLength },
    );
  }

  /** Replay stopped for lack of room: ask to be fed again once some has drained. */
  waitForRoom(): void {
    // Also for a subscriber that started behind (it has pull()): a replay held back by its rate or the
    // channel's replay gate enqueued nothing, so no read would call pull() again.
    if (this.roomTimer !== undefined || this.closed) return;
    this.roomTimer = setTimeout(() => {
      this.roomTimer = undefined;
      if (!this.live && !this.closed) this.options.onDemand(this);
    }, ROOM_POLL_MS);
  }

  /** Bytes written but not yet taken by the runtime towards the client. */
  get bufferedBytes(): number {
    const desired = this.controller.desiredSize;
    return desired === null ? 0 : Math.max(0, -desired);
  }

  /** Room for history replay: keeps replay pages from filling the whole budget. */
  get hasRoomForReplay(): boolean {
    return !this.closed && this.bufferedBytes < this.maxBufferedBytes / 2;
  }

  /** Already half its budget behind: a slow reader, not just a big burst. */
  get isBacklogged(): boolean {
    return this.bufferedBytes >= this.maxBufferedBytes / 2;
  }

  /**
   * Whether `size` more bytes stay within the budget. An empty queue always
   * takes one write, so a single large event never cuts a healthy stream:
   * unsent bytes stay below the budget plus one frame.
   */
  fits(size: number): boolean {
    const buffered = this.bufferedBytes;
    return buffered === 0 || buffered + size <= this.maxBufferedBytes;
  }

  /** Queues bytes the caller has checked with fits(). Returns false if the stream is gone. */
  push(bytes: Uint8Array): boolean {
    if (this.closed) return false;
    try {
      this.controller.enqueue(bytes);
    } catch {
      this.finish("disconnected");
      return false;
    }
    this.bytesWritten += bytes.byteLength;
    return true;
  }

  /** Queues bytes, or closes the stream if they would pass the budget (a reader that fell behind). */
  write(bytes: Uint8Array): boolean {
    if (this.closed) return false;
    if (!this.fits(bytes.byteLength)) {
      this.close("overflow");
      return false;
    }
    return this.push(bytes);
  }

  /**
   * Called on every heartbeat tick (twice per HEARTBEAT_MS): a stream that
   * has had unsent data and drained nothing since the previous tick is
   * stalled (a dead peer whose disconnect the platform never reported).
   * Otherwise writes the heartbeat comment.
   */
  heartbeat(comment: Uint8Array, now = Date.now()): "ok" | "stalled" {
    if (this.closed) return "ok";
    if (now >= this.options.closeAt) {
      this.close("expired");
      return "ok";
    }
    const buffered = this.bufferedBytes;
    const drained = this.bytesWritten - buffered;
    if (buffered > 0 && drained === this.drainedAtLastCheck) {
      this.stalledTicks += 1;
      return "stalled";
    }
    this.stalledTicks = 0;
    this.drainedAtLastCheck = drained;
    // A stream that carried data since the last tick needs no keep-alive comment.
    if (this.bytesWritten === this.writtenAtLastTick) this.write(comment);
    this.writtenAtLastTick = this.bytesWritten;
    return "ok";
  }

  /** Ends the stream. Overflow and stalls drop the unsent backlog at once; a clean end flushes it. */
  close(reason: CloseReason): void {
    if (this.closed) return;
    try {
      // The stream moved past the last id it wrote (a page that held only a relay.lost notice): say where it ended.
      if (reason === "expired" && this.cursor !== this.announced)
        this.controller.enqueue(this.options.position(this.cursor));
      if (reason === "expired") this.controller.close();
      else this.controller.error(new Error(`subscriber closed: ${reason}`));
    } catch {
      // Already closed or errored by the runtime: nothing left to release.
    }
    this.finish(reason);
  }

  /** Runs `listener` once when the stream ends, for whatever reason. */
  onClosed(listener: () => void): void {
    if (this.closed) listener();
    else this.closeListeners.push(listener);
  }

  private finish(reason: CloseReason): void {
    if (this.closed) return;
    this.closed = true;
    if (this.roomTimer !== undefined) clearTimeout(this.roomTimer);
    for (const listener of this.closeListeners.splice(0)) listener();
    this.options.onClose(this, reason);
  }
}
