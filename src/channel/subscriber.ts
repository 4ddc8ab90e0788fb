/**
 * One open SSE stream of a channel, with a hard bound on unsent bytes.
 *
 * Writes are synchronous enqueues into the stream's own queue (no promise
 * per write). The queue is measured in bytes: a subscriber that stops
 * reading fills it, and past `maxBufferedBytes` its stream is cut so it can
 * never slow the others or grow memory; its browser reconnects with
 * Last-Event-ID and catches up from history.
 */

export type CloseReason =
  /** The client went away (stream cancelled or request aborted). */
  | "disconnected"
  /** More than maxBufferedBytes waited unsent. */
  | "overflow"
  /** Nothing was read for a whole heartbeat interval while data waited. */
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
      // The queue's high-water mark is the byte budget: desiredSize tells how much is unsent.
      { highWaterMark: options.maxBufferedBytes, size: (chunk) => chunk.byteLength },
    );
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Bytes written but not yet taken by the runtime towards the client. */
  get bufferedBytes(): number {
    const desired = this.controller.desiredSize;
    return desired === null ? 0 : this.maxBufferedBytes - desired;
  }

  /** Room for history replay: keeps replay pages from filling the whole budget. */
  get hasRoomForReplay(): boolean {
    return !this.closed && this.bufferedBytes < this.maxBufferedBytes / 2;
  }

  /**
   * Queues bytes for the client. An empty queue always accepts one write, so
   * a single large event never cuts a healthy stream; a backlog that would
   * pass the budget closes the stream instead. Returns false if not written.
   */
  write(bytes: Uint8Array): boolean {
    if (this.closed) return false;
    const buffered = this.bufferedBytes;
    if (buffered > 0 && buffered + bytes.byteLength > this.maxBufferedBytes) {
      this.close("overflow");
      return false;
    }
    try {
      this.controller.enqueue(bytes);
    } catch {
      this.finish("disconnected");
      return false;
    }
    this.bytesWritten += bytes.byteLength;
    return true;
  }

  /**
   * Called once per heartbeat interval: a stream that has had unsent data
   * and drained nothing since the previous check is stalled (a dead peer
   * whose disconnect the platform never reported). Otherwise writes the
   * heartbeat comment.
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

  private finish(reason: CloseReason): void {
    if (this.closed) return;
    this.closed = true;
    this.options.onClose(this, reason);
  }
}
