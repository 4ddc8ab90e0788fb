/**
 * A browser's SSE stream held by the Worker request that serves it, fed
 * over hibernatable WebSockets by channel objects or their fan-out objects
 * (see src/channel/bridge-protocol.ts): one ChannelFeed per channel
 * (src/edge/channel-feed.ts: cursor, catch-up, re-dials), usually one, and
 * several for a multi-channel stream (src/edge/multi-stream.ts). The Worker
 * bills CPU, not wall time, and the objects leave memory between events, so
 * a watched but quiet channel costs about nothing.
 *
 * Everything per subscriber lives here, not in an object that may
 * hibernate: the cursors, heartbeats, the stream's lifetime and token
 * expiry, stall detection, and a small byte budget.
 * - A plain Worker invocation's CPU limit covers the whole stream, so the
 *   stream ends cleanly (EventSource resumes with Last-Event-ID) before a
 *   modelled CPU budget is spent.
 */
import { ClientCount, shouldCut } from "../channel/stall-rule";
import type { BridgeCloseReason } from "../channel/bridge-protocol";
import type { ReplaySettings } from "../channel/replay-limits";
import { positionFrame } from "../channel/position-event";
import { concatBytes, encodeComment, encodeText, formatComment, formatRetry } from "../sse/codec";
import { SSE_HEADERS } from "../sse/headers";
import type { BridgeTarget } from "./attach";
import { ChannelFeed, type CursorView, type FrameView, type Outlet } from "./channel-feed";
import { CPU_MODEL, deliveryCostMicros } from "./cpu-model";

export interface BridgeSettings {
  readonly retryMs: number;
  readonly heartbeatMs: number;
  /** Unsent bytes past which the stream stops taking live pushes and catches up from history. */
  readonly bufferBytes: number;
  /** Modelled CPU (ms) a stream may spend before it ends cleanly; see cpuCostMicros. */
  readonly cpuBudgetMs: number;
  /** When the stream ends cleanly (ms since epoch): lifetime limit or token expiry. */
  readonly closeAt: number;
  /** MAX_SUBSCRIBERS_PER_CHANNEL, for the refusal when no fan-out object has room. */
  readonly maxSubscribers: number;
  /** Replay bytes per second and in all for this stream (the channel bounds concurrent replays). */
  readonly replay: Pick<ReplaySettings, "bytesPerSecond" | "maxBytesPerStream">;
}

const HEARTBEAT = encodeComment("heartbeat");

/**
 * This isolate's open streams and its stalled-looking ones, by client: all streams of one isolate
 * share its thread, so when it is behind they all look stalled together (see stall-rule.ts).
 */
const OPEN_CLIENTS = new ClientCount();
const STALLED_CLIENTS = new ClientCount();

/**
 * Opens a bridged stream: answers with the SSE response once the first
 * upstream socket is attached, or with the object's refusal (503
 * channel_full…), or null if the object predates the bridge (the caller
 * falls back to the object-held stream). A view, if given, rewrites the
 * channel's frames on their way out (see FrameView).
 */
export function openBridgedStream(
  target: BridgeTarget,
  after: number | undefined,
  settings: BridgeSettings,
  signal: AbortSignal | undefined,
  view?: FrameView,
  position: PositionWriter = channelPosition,
): Promise<Response | null> {
  return openFeeds([{ target, after, ...(view ? { view } : {}) }], settings, signal, position);
}

/**
 * The frame that tells the client where the stream is (every feed's cursor, in feed order): its
 * last event id becomes a resume point. Written in the stream's first bytes, and again before a
 * clean end when the stream moved past the last id it wrote (see src/channel/position-event.ts).
 */
export type PositionWriter = (cursors: readonly number[]) => string;

/** A single channel's stream: `relay.position` with the channel's id. */
const channelPosition: PositionWriter = (cursors) => positionFrame(String(cursors[0] ?? 0));

/** One channel of a bridged stream: where it resumes, and how its frames are rewritten. */
export interface FeedSpec {
  readonly target: BridgeTarget;
  readonly after: number | undefined;
  readonly view?: CursorView;
}

/**
 * Opens one stream fed by several channels, each with its own cursor. The
 * views write nothing before every feed is attached, so a view may read the
 * other channels' cursors. Refused as a whole if any channel refuses.
 */
export async function openFeeds(
  specs: readonly FeedSpec[],
  settings: BridgeSettings,
  signal: AbortSignal | undefined,
  position: PositionWriter,
): Promise<Response | null> {
  const stream = new BridgedStream(specs, settings, position);
  const refusal = await stream.connect(specs.map((spec) => spec.after));
  if (refusal !== undefined) return refusal;
  signal?.addEventListener("abort", () => stream.close("disconnected"));
  return new Response(stream.readable, { status: 200, headers: SSE_HEADERS });
}

class BridgedStream implements Outlet {
  readonly readable: ReadableStream<Uint8Array>;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  closed = false;
  private readonly feeds: ChannelFeed[];
  private cpuMicros = 0;
  private bytesWritten = 0;
  private drainedAtLastCheck = 0;
  private writtenAtLastTick = 0;
  /** Heartbeat ticks run twice per HEARTBEAT_MS. */
  private get tickMs(): number {
    return Math.max(25, Math.floor(this.settings.heartbeatMs / 2));
  }
  private lastTickAt = 0;
  /** Whether the last tick found this stream draining nothing (counted in STALLED_CLIENTS). */
  private looksStalled = false;
  /** Consecutive ticks that found this stream draining nothing. */
  private stalledTicks = 0;
  /** Whether this stream is counted in OPEN_CLIENTS. */
  private counted = false;
  /** Names the stream when its client is not known. */
  private readonly id = crypto.randomUUID();
  /** The cursors the client's last event id stands for (see PositionWriter), as "c0.c1…". */
  private announced = "";

  get cursors(): readonly number[] {
    return this.feeds.map((feed) => feed.cursor);
  }

  /** Whose stream this is, for the stall rule: its client, or itself when the client is not known. */
  private get clientKey(): string {
    return this.feeds[0]?.target.client ?? this.id;
  }

  private markStalled(stalled: boolean): void {
    if (stalled === this.looksStalled) return;
    this.looksStalled = stalled;
    if (stalled) STALLED_CLIENTS.add(this.clientKey);
    else STALLED_CLIENTS.remove(this.clientKey);
  }
  private readonly roomWaiters = new Set<() => void>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(
    specs: readonly FeedSpec[],
    private readonly settings: BridgeSettings,
    private readonly position: PositionWriter,
  ) {
    this.feeds = specs.map((spec) => new ChannelFeed(spec.target, settings, this, spec.view));
    this.readable = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller;
        },
        // Called when the browser's side has taken everything queued: room for the next page.
        pull: () => this.wakeRoomWaiters(),
        cancel: () => this.close("disconnected"),
      },
      // High-water mark 0: -desiredSize is exactly the unsent bytes.
      { highWaterMark: 0, size: (chunk) => chunk.byteLength },
    );
  }

  /** First attach of every feed: the refusal to pass on, or undefined once streaming. */
  async connect(after: readonly (number | undefined)[]): Promise<Response | null | undefined> {
    const outcomes = await Promise.allSettled(this.feeds.map((feed, index) => feed.attach(after[index])));
    const refusal = outcomes.find((outcome) => outcome.status === "rejected" || outcome.value !== undefined);
    if (refusal !== undefined) {
      for (const feed of this.feeds) feed.close("disconnected");
      this.closed = true;
      if (refusal.status === "rejected") throw refusal.reason;
      return refusal.value;
    }
    // One write: greeting, each channel's relay.lost notice, then the resume point, before any event.
    const greeting = encodeText(formatComment("connected") + formatRetry(this.settings.retryMs));
    const notices = this.feeds.map((feed) => feed.opening());
    this.write(concatBytes([greeting, ...notices, this.positionBytes()]));
    for (const feed of this.feeds) feed.start();
    this.counted = true;
    OPEN_CLIENTS.add(this.clientKey);
    this.lastTickAt = Date.now();
    this.timers.add(setInterval(() => this.tick(), this.tickMs));
    this.after(Math.max(0, this.settings.closeAt - Date.now()), () => this.close("expired"));
    return undefined;
  }

  /** The position frame for the cursors now; the client's last event id will stand for them. */
  private positionBytes(): Uint8Array {
    this.announced = this.cursors.join(".");
    return encodeText(this.position(this.cursors));
  }

  close(reason: BridgeCloseReason): void {
    if (this.closed) return;
    const clean = reason === "expired" || reason === "rotated" || reason === "unavailable";
    // (announced is "" until the opening write: a stream refused before it writes nothing.)
    if (clean && this.announced !== "" && this.cursors.join(".") !== this.announced) {
      // The stream moved past the last id it wrote (filtered or pruned events): say where it ended.
      try {
        this.controller.enqueue(this.positionBytes());
      } catch {
        // Cancelled by the runtime already.
      }
    }
    this.closed = true;
    this.markStalled(false);
    if (this.counted) OPEN_CLIENTS.remove(this.clientKey);
    if (reason === "stalled") {
      const cursors = this.feeds.map((feed) => feed.cursor);
      this.feeds[0]?.target.log.info("subscriber dropped", { reason, cursor: cursors.join(".") });
    }
    for (const timer of this.timers) clearTimeout(timer);
    for (const feed of this.feeds) feed.close(reason);
    try {
      // A clean end lets EventSource resume at once with Last-Event-ID; the others drop the backlog.
      if (clean) this.controller.close();
      else this.controller.error(new Error(`stream closed: ${reason}`));
    } catch {
      // Cancelled by the runtime already.
    }
    this.wakeRoomWaiters();
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.after(ms, resolve));
  }

  /** A timer the stream forgets once it fired, and clears if the stream ends first. */
  after(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      run();
    }, ms);
    this.timers.add(timer);
  }

  room(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.add(resolve));
  }

  private wakeRoomWaiters(): void {
    const waiters = [...this.roomWaiters];
    this.roomWaiters.clear();
    for (const waiter of waiters) waiter();
  }

  get bufferedBytes(): number {
    const desired = this.controller.desiredSize;
    return desired === null ? 0 : Math.max(0, -desired);
  }

  /** An empty queue always takes one write, so a single large event never starves a stream. */
  fits(bytes: Uint8Array): boolean {
    const buffered = this.bufferedBytes;
    return buffered === 0 || buffered + bytes.byteLength <= this.settings.bufferBytes;
  }

  write(bytes: Uint8Array, costMicros = deliveryCostMicros(bytes.byteLength), atCursor = false): void {
    if (this.closed) return;
    if (bytes.byteLength > 0) {
      try {
        this.controller.enqueue(bytes);
      } catch {
        this.close("disconnected");
        return;
      }
      this.bytesWritten += bytes.byteLength;
      if (atCursor) this.announced = this.cursors.join(".");
    }
    // Counted even when a view kept nothing: reading and filtering frames costs CPU all the same.
    this.cpuMicros += costMicros;
    if (this.cpuMicros >= this.settings.cpuBudgetMs * 1000) this.close("rotated");
  }

  /**
   * Twice per HEARTBEAT_MS: a stream that had unsent data and drained none
   * since the previous tick is stalled (a dead peer whose disconnect was
   * never reported): closed. An idle one gets a heartbeat comment.
   */
  private tick(): void {
    if (this.closed) return;
    const now = Date.now();
    const late = now - this.lastTickAt - this.tickMs;
    this.lastTickAt = now;
    const buffered = this.bufferedBytes;
    const drained = this.bytesWritten - buffered;
    this.markStalled(buffered > 0 && drained === this.drainedAtLastCheck);
    this.stalledTicks = this.looksStalled ? this.stalledTicks + 1 : 0;
    // Judged from the second stalled tick in a row (by then every stream of this isolate has ticked
    // once and counted itself). See stall-rule.ts: the isolate's own lateness, or stalls spread over
    // many clients of its streams, mean the isolate is behind, not that the peer died.
    const tick = { lateMs: late, intervalMs: this.tickMs };
    const counted = STALLED_CLIENTS.distinct;
    if (shouldCut(this.stalledTicks, tick, counted, OPEN_CLIENTS.distinct)) {
      this.close("stalled");
      return;
    }
    this.drainedAtLastCheck = drained;
    if (this.bytesWritten === this.writtenAtLastTick) this.write(HEARTBEAT, CPU_MODEL.heartbeatMicros);
    this.writtenAtLastTick = this.bytesWritten;
  }
}
