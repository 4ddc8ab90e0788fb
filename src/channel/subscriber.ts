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
  | "expired"
  /** The channel object is shutting the stream down. */
  | "shutdown";

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
}

export class Subscriber {
  readonly stream: ReadableStream<Uint8Array>;
  /** Id of the last event written to this stream. */
  cursor: number;
  /** Caught up: receives broadcasts directly instead of reading history. */
  live: boolean;

  private controller!: ReadableStreamDefaultController<Uint8Array>;
  private readonly closeListeners: (() => void)[] = [];
  private closed = false;
  private bytesWritten = 0;
  private drainedAtLastCheck = 0;
  private readonly maxBufferedBytes: number;

  constructor(private readonly options: SubscriberOptions) {
    this.cursor = options.cursor;
    this.live = options.live;
    this.maxBufferedBytes = options.maxBufferedBytes;
    this.stream = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller;
        },
        pull: () => {
          if (!this.live && !this.closed) options.onDemand(this);
        },
        cancel: () => {
          this.finish("disconnected");
        },
      },
      // High-water mark 0: pull() runs only when the runtime is waiting for data (so live
      // writes cost no pull call per event), and -desiredSize is exactly the unsent bytes.
      { highWaterMark: 0, size: (chunk) => chunk.byteLength },
    );
  }

  get isOpen(): boolean {
    return !this.closed;
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
  heartbeat(comment: Uint8Array, now = Date.now()): void {
    if (this.closed) return;
    if (now >= this.options.closeAt) {
      this.close("expired");
      return;
    }
    const buffered = this.bufferedBytes;
    const drained = this.bytesWritten - buffered;
    if (buffered > 0 && drained === this.drainedAtLastCheck) {
      this.close("stalled");
      return;
    }
    this.drainedAtLastCheck = drained;
    this.write(comment);
  }

  /** Ends the stream. Overflow and stalls drop the unsent backlog at once; a clean end flushes it. */
  close(reason: CloseReason): void {
    if (this.closed) return;
    try {
      if (reason === "shutdown" || reason === "expired") this.controller.close();
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
    for (const listener of this.closeListeners.splice(0)) listener();
    this.options.onClose(this, reason);
  }
}
