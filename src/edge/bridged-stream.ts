/**
 * A browser's SSE stream held by the Worker request that serves it, fed
 * over hibernatable WebSockets by channel objects or their fan-out objects
 * (see src/protocol/bridge-protocol.ts): one ChannelFeed per channel
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
import { positionFrame } from "../events/position-event";
import type { ReplaySettings } from "../config";
import { ClientCount, shouldCut } from "../stream/stall-rule";
import { SSE_HEADERS } from "../sse/headers";
import { type Clock, systemClock, type TimerHandle } from "../stream/clock";
import type { CloseReason } from "../stream/close-reasons";
import { StreamOutlet, tickIntervalMs } from "../stream/outlet";
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
  /** Time for the stream's ticks, lifetime, waits and presence call-backs (the platform's by default). */
  readonly clock?: Clock;
}

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
 * clean end when the stream moved past the last id it wrote (see src/events/position-event.ts).
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
  // The client may have gone while the stream was attaching: then no abort event is coming.
  if (signal?.aborted) stream.close("disconnected");
  else signal?.addEventListener("abort", () => stream.close("disconnected"));
  return new Response(stream.readable, { status: 200, headers: SSE_HEADERS });
}

class BridgedStream implements Outlet {
  private readonly outlet: StreamOutlet;
  private readonly feeds: ChannelFeed[];
  private readonly clock: Clock;
  private lastTickAt = 0;
  /** Whether the last tick found this stream draining nothing (counted in STALLED_CLIENTS). */
  private looksStalled = false;
  /** Whether this stream is counted in OPEN_CLIENTS. */
  private counted = false;
  /** Names the stream when its client is not known. */
  private readonly id = crypto.randomUUID();
  private readonly roomWaiters = new Set<() => void>();
  private readonly timers = new Set<TimerHandle>();

  constructor(
    specs: readonly FeedSpec[],
    private readonly settings: BridgeSettings,
    position: PositionWriter,
  ) {
    this.clock = settings.clock ?? systemClock;
    this.feeds = specs.map((spec) => new ChannelFeed(spec.target, settings, this, spec.view));
    this.outlet = new StreamOutlet(
      {
        retryMs: settings.retryMs,
        bufferBytes: settings.bufferBytes,
        closeAt: settings.closeAt,
        cpuBudgetMicros: settings.cpuBudgetMs * 1000,
        heartbeatMicros: CPU_MODEL.heartbeatMicros,
      },
      { key: () => this.cursors.join("."), frame: () => position(this.cursors) },
      this.clock,
      {
        // Called when the browser's side has taken everything queued: room for the next page.
        onPull: () => this.wakeRoomWaiters(),
        onClose: (reason) => this.ended(reason),
      },
    );
  }

  get readable(): ReadableStream<Uint8Array> {
    return this.outlet.readable;
  }

  get closed(): boolean {
    return this.outlet.closed;
  }

  get cursors(): readonly number[] {
    return this.feeds.map((feed) => feed.cursor);
  }

  get bufferedBytes(): number {
    return this.outlet.bufferedBytes;
  }

  /** Whose stream this is, for the stall rule: its client, or itself when the client is not known. */
  private get clientKey(): string {
    return this.feeds[0]?.target.client ?? this.id;
  }

  /** First attach of every feed: the refusal to pass on, or undefined once streaming. */
  async connect(after: readonly (number | undefined)[]): Promise<Response | null | undefined> {
    const outcomes = await Promise.allSettled(this.feeds.map((feed, index) => feed.attach(after[index])));
    const refusal = outcomes.find((outcome) => outcome.status === "rejected" || outcome.value !== undefined);
    if (refusal !== undefined) {
      for (const feed of this.feeds) feed.close("disconnected");
      this.outlet.close("disconnected");
      if (refusal.status === "rejected") throw refusal.reason;
      return refusal.value;
    }
    // One write: greeting, each channel's relay.lost notice, then the resume point, before any event.
    this.outlet.open(this.feeds.map((feed) => feed.opening()));
    if (this.closed) return undefined;
    for (const feed of this.feeds) feed.start();
    this.counted = true;
    OPEN_CLIENTS.add(this.clientKey);
    this.lastTickAt = this.clock.now();
    const interval = tickIntervalMs(this.settings.heartbeatMs);
    this.timers.add(this.clock.setInterval(() => this.tick(interval), interval));
    return undefined;
  }

  close(reason: CloseReason): void {
    this.outlet.close(reason);
  }

  /** The outlet ended (whatever ended it): release this stream's upstreams, timers and counts. */
  private ended(reason: CloseReason): void {
    this.markStalled(false);
    if (this.counted) OPEN_CLIENTS.remove(this.clientKey);
    this.counted = false;
    if (reason === "stalled") {
      this.feeds[0]?.target.log.info("subscriber dropped", { reason, cursor: this.cursors.join(".") });
    }
    for (const timer of this.timers) this.clock.clear(timer);
    this.timers.clear();
    for (const feed of this.feeds) feed.close(reason);
    this.wakeRoomWaiters();
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.after(ms, resolve));
  }

  /** A timer the stream forgets once it fired, and clears if the stream ends first. */
  after(ms: number, run: () => void): void {
    if (this.closed) return;
    const timer = this.clock.setTimeout(() => {
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

  fits(bytes: Uint8Array): boolean {
    return this.outlet.fits(bytes.byteLength);
  }

  write(bytes: Uint8Array, costMicros = deliveryCostMicros(bytes.byteLength), atCursor = false): void {
    this.outlet.write(bytes, costMicros, atCursor);
  }

  writeLatest(key: string, bytes: Uint8Array): void {
    this.outlet.writeLatest(key, bytes);
  }

  private markStalled(stalled: boolean): void {
    if (stalled === this.looksStalled) return;
    this.looksStalled = stalled;
    if (stalled) STALLED_CLIENTS.add(this.clientKey);
    else STALLED_CLIENTS.remove(this.clientKey);
  }

  /**
   * A heartbeat tick (see StreamOutlet.tick). A stream that had unsent data and drained none since
   * the previous tick is stalled (a dead peer whose disconnect was never reported): cut from the
   * second such tick in a row (by then every stream of this isolate has ticked once and counted
   * itself), unless stall-rule.ts finds the isolate behind: its own lateness, or stalls spread over
   * many clients of its streams.
   */
  private tick(intervalMs: number): void {
    if (this.closed) return;
    const now = this.clock.now();
    const late = now - this.lastTickAt - intervalMs;
    this.lastTickAt = now;
    this.markStalled(this.outlet.tick());
    if (!this.looksStalled) return;
    const tick = { lateMs: late, intervalMs };
    if (shouldCut(this.outlet.stalledTicks, tick, STALLED_CLIENTS.distinct, OPEN_CLIENTS.distinct)) {
      this.close("stalled");
    }
  }
}
