/**
 * One subscriber's outgoing SSE stream, in either delivery mode: the mode
 * decides only where it lives (the channel object in direct mode, the
 * Worker request in hibernating mode) and what feeds it (src/channel/
 * direct-streams.ts, src/edge/bridged-stream.ts). Everything a stream is
 * made of is here, once:
 * - the opening write: greeting, `retry:`, any notices, the resume point
 *   (src/events/position-event.ts);
 * - a byte budget on unsent data, and `fits`, which lets an empty queue
 *   take one write of any size (a single large event never starves a
 *   stream). The runtime is handed one chunk at a time (high-water mark 0:
 *   a chunk goes to the body only when it is empty, the rest waits in the
 *   outlet's own backlog until the runtime pulls), so an end that is not
 *   clean can drop what waits and still close the body: erroring it would
 *   log an uncaught rejection per stream in workerd and reach the client
 *   as a clean end anyway (workerd#6818);
 * - heartbeat ticks: a tick that finds unsent bytes and nothing drained
 *   since the previous one counts as stalled (the caller's strategy decides
 *   when to cut, src/stream/stall-rule.ts); an idle stream gets a
 *   `: heartbeat` comment;
 * - frames of which only the newest matters (presence counts, see
 *   writeLatest): a queued one is replaced, never accumulated;
 * - a lifetime (MAX_STREAM_SECONDS or the token's expiry) and a modelled
 *   CPU budget, both ending the stream cleanly;
 * - the end: clean (flushes, and says where the stream ended if it moved
 *   past the last id it wrote) or not (drops the backlog), with one reason.
 * Time comes from an injectable Clock.
 */
import { concatBytes, encodeComment, encodeText, formatComment, formatRetry } from "../sse/codec";
import type { Clock, TimerHandle } from "./clock";
import { type CloseReason, endsCleanly } from "./close-reasons";

const HEARTBEAT = encodeComment("heartbeat");

/**
 * Heartbeat ticks run twice per HEARTBEAT_MS: a write into a connection whose close was never
 * reported is often absorbed by buffers and only the next one fails, so two writes per interval
 * keep the subscriber count right within about one HEARTBEAT_MS.
 */
export function tickIntervalMs(heartbeatMs: number): number {
  return Math.max(25, Math.floor(heartbeatMs / 2));
}

export interface OutletSettings {
  readonly retryMs: number;
  /** Unsent bytes the stream may hold (MAX_BUFFERED_BYTES / STREAM_BUFFER_BYTES). */
  readonly bufferBytes: number;
  /** When the stream ends cleanly as "expired" (ms since epoch): its lifetime or its token's expiry. */
  readonly closeAt: number;
  /** Modelled CPU (µs) after which it ends cleanly as "rotated"; Infinity where nothing is modelled. */
  readonly cpuBudgetMicros: number;
  /** Modelled CPU (µs) of one heartbeat comment, and of one writeLatest frame (presence). */
  readonly heartbeatMicros: number;
}

/** Where the stream stands, for its resume point (src/events/position-event.ts). */
export interface Whereabouts {
  /** A key for the stream's cursors now: equal keys, same position. */
  key(): string;
  /** The frame that makes the client's last event id this position. */
  frame(): string;
}

export interface OutletHooks {
  /** Called when the client has taken everything queued and waits for more. */
  readonly onPull?: () => void;
  /** Called once, whatever ended the stream. */
  readonly onClose?: (reason: CloseReason) => void;
}

export class StreamOutlet {
  readonly readable: ReadableStream<Uint8Array>;
  closed = false;
  /** Consecutive ticks that found unsent bytes and nothing drained. */
  stalledTicks = 0;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  /** Chunks written while the body still held one: handed over one per pull. */
  private backlog: Uint8Array[] = [];
  private backlogBytes = 0;
  /** The writeLatest frames waiting in the backlog, by key: at most one each. */
  private readonly latest = new Map<string, Uint8Array>();
  private bytesWritten = 0;
  private drainedAtLastCheck = 0;
  private writtenAtLastTick = 0;
  private cpuMicros = 0;
  /** The position the client's last event id stands for ("" until the opening write). */
  private announced = "";
  private lifetime: TimerHandle | undefined;
  private readonly onClose: ((reason: CloseReason) => void) | undefined;

  constructor(
    private readonly settings: OutletSettings,
    private readonly where: Whereabouts,
    private readonly clock: Clock,
    hooks: OutletHooks = {},
  ) {
    this.onClose = hooks.onClose;
    const onPull = hooks.onPull;
    this.readable = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller;
        },
        pull: () => {
          const next = this.backlog.shift();
          if (next !== undefined) {
            this.backlogBytes -= next.byteLength;
            this.forgetLatest(next);
            this.controller.enqueue(next);
          } else if (!this.closed) onPull?.();
        },
        cancel: () => this.close("disconnected"),
      },
      { highWaterMark: 0, size: (chunk) => chunk.byteLength },
    );
  }

  /**
   * The stream's first write: greeting, `retry:`, the notices (relay.lost) and the resume point,
   * before any event; arms the lifetime.
   */
  open(notices: readonly Uint8Array[] = []): void {
    const greeting = encodeText(formatComment("connected") + formatRetry(this.settings.retryMs));
    this.write(concatBytes([greeting, ...notices, this.positionBytes()]));
    if (this.closed) return;
    const ms = Math.max(0, this.settings.closeAt - this.clock.now());
    this.lifetime = this.clock.setTimeout(() => this.close("expired"), ms);
  }

  /** Bytes written but not yet taken by the runtime towards the client. */
  get bufferedBytes(): number {
    if (this.closed) return 0; // what a closed body still flushes is no longer this stream's to count
    const desired = this.controller.desiredSize;
    return this.backlogBytes + (desired === null ? 0 : Math.max(0, -desired));
  }

  /** Whether `size` more bytes stay within the budget; an empty queue always takes one write. */
  fits(size: number): boolean {
    const buffered = this.bufferedBytes;
    return buffered === 0 || buffered + size <= this.settings.bufferBytes;
  }

  /**
   * Queues bytes (the caller checked fits() where it matters) and counts their modelled CPU, ending
   * the stream as "rotated" past its budget. `atPosition`: the bytes end with an event whose id is
   * the stream's position now. False if the stream is gone.
   */
  write(bytes: Uint8Array, costMicros = 0, atPosition = false): boolean {
    if (this.closed) return false;
    if (bytes.byteLength > 0) {
      if (!this.handOver(bytes)) return false;
      this.bytesWritten += bytes.byteLength;
      if (atPosition) this.announced = this.where.key();
    }
    // Counted even when nothing was written: reading and filtering frames costs CPU all the same.
    this.cpuMicros += costMicros;
    if (this.cpuMicros >= this.settings.cpuBudgetMicros) {
      this.close("rotated");
      return false;
    }
    return true;
  }

  /**
   * Queues a frame of which only the newest of its `key` matters (a channel's presence count): one
   * still waiting in the backlog is replaced in place, so a slow reader holds at most one per key
   * (the runtime may hold one it was already handed). A new one is written only if it fits (a later
   * one follows). Either way it costs a heartbeat's modelled CPU: like a heartbeat it is a small
   * text frame, enqueued without decoding a batch or running a view. False if the stream is gone.
   */
  writeLatest(key: string, bytes: Uint8Array): boolean {
    if (this.closed) return false;
    const queued = this.latest.get(key);
    const at = queued === undefined ? -1 : this.backlog.indexOf(queued);
    if (at >= 0) {
      this.backlog[at] = bytes;
      this.backlogBytes += bytes.byteLength - queued!.byteLength;
      this.bytesWritten += bytes.byteLength - queued!.byteLength;
      this.latest.set(key, bytes);
      return this.write(new Uint8Array(0), this.settings.heartbeatMicros);
    }
    if (!this.fits(bytes.byteLength)) return this.write(new Uint8Array(0), this.settings.heartbeatMicros);
    const written = this.write(bytes, this.settings.heartbeatMicros);
    if (written && this.backlog.at(-1) === bytes) this.latest.set(key, bytes);
    return written;
  }

  /**
   * One heartbeat tick (twice per HEARTBEAT_MS): true if the stream looks stalled (unsent bytes and
   * nothing drained since the previous tick; stalledTicks counts them in a row; the caller decides,
   * src/stream/stall-rule.ts). Otherwise a stream that wrote nothing since the last tick gets a
   * heartbeat comment.
   */
  tick(): boolean {
    if (this.closed) return false;
    const buffered = this.bufferedBytes;
    const drained = this.bytesWritten - buffered;
    if (buffered > 0 && drained === this.drainedAtLastCheck) {
      this.stalledTicks += 1;
      return true;
    }
    this.stalledTicks = 0;
    this.drainedAtLastCheck = drained;
    if (this.bytesWritten === this.writtenAtLastTick) this.write(HEARTBEAT, this.settings.heartbeatMicros);
    this.writtenAtLastTick = this.bytesWritten;
    return false;
  }

  /**
   * Ends the stream: a clean end flushes (after the resume point, if it moved); the others drop the
   * backlog, so the client keeps only whole frames it was already handed and resumes after the last.
   * Either way the body closes; the reason goes to onClose.
   */
  close(reason: CloseReason): void {
    if (this.closed) return;
    const clean = endsCleanly(reason);
    if (clean && this.announced !== "" && this.where.key() !== this.announced) {
      this.backlog.push(this.positionBytes());
    }
    this.closed = true;
    if (this.lifetime !== undefined) this.clock.clear(this.lifetime);
    const rest = clean ? this.backlog : [];
    this.backlog = [];
    this.backlogBytes = 0;
    this.latest.clear();
    try {
      for (const chunk of rest) this.controller.enqueue(chunk);
      this.controller.close();
    } catch {
      // Cancelled by the runtime already.
    }
    this.onClose?.(reason);
  }

  /** Into the body if it is empty, else into the backlog. False if the runtime cancelled the body. */
  private handOver(bytes: Uint8Array): boolean {
    if (this.backlog.length > 0 || (this.controller.desiredSize ?? 0) < 0) {
      this.backlog.push(bytes);
      this.backlogBytes += bytes.byteLength;
      return true;
    }
    try {
      this.controller.enqueue(bytes);
      return true;
    } catch {
      this.close("disconnected");
      return false;
    }
  }

  /** A chunk left the backlog: if it was a writeLatest frame, the next one of its key is queued anew. */
  private forgetLatest(chunk: Uint8Array): void {
    for (const [key, queued] of this.latest) if (queued === chunk) this.latest.delete(key);
  }

  private positionBytes(): Uint8Array {
    this.announced = this.where.key();
    return encodeText(this.where.frame());
  }
}
