/**
 * A browser's SSE stream held by the Worker request that serves it, fed
 * over a hibernatable WebSocket by the channel object or one of its fan-out
 * objects (see src/channel/bridge-protocol.ts). The Worker bills CPU, not
 * wall time, and the objects leave memory between events, so a watched but
 * quiet channel costs about nothing.
 *
 * Everything per subscriber lives here, not in an object that may
 * hibernate: the cursor (last id written), heartbeats, the stream's
 * lifetime and token expiry, stall detection, and a small byte budget.
 * - Exactly once: batches at or below the cursor are dropped; a batch that
 *   does not follow on (a lost push, a restart) is filled from history.
 * - A reader that falls behind its budget stops taking live pushes and
 *   catches up from history as it drains, a page at a time.
 * - An upstream socket that closes (object restart, deploy, eviction) is
 *   re-dialled with the cursor; the browser sees nothing.
 * - A plain Worker invocation's CPU limit covers the whole stream, so the
 *   stream ends cleanly (EventSource resumes with Last-Event-ID) before a
 *   modelled CPU budget is spent.
 */
import type { HistoryPage } from "../channel/channel-object";
import { ReplayAllowance, type ReplaySettings } from "../channel/replay-limits";
import { ClientCount, shouldCut } from "../channel/stall-rule";
import { type BridgeCloseReason, CLOSE_CODES, decodeBatch } from "../channel/bridge-protocol";
import { encodeComment, encodeText, formatComment, formatRetry } from "../sse/codec";
import { SSE_HEADERS } from "../sse/headers";
import { attach, type BridgeTarget, type Upstream } from "./attach";
import { CPU_MODEL, deliveryCostMicros } from "./cpu-model";
import { onPresenceMessage } from "./presence-hook";

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
 * Rewrites a chunk of the channel's frames (whole frames: a live batch, a
 * history page, a fan-out object's recent batches) just before it is
 * written, and the relay.lost notice a resume may start with; see
 * src/sse/frames.ts to parse them. The cursor stays on the
 * channel's own ids whatever it returns: an empty result writes nothing and
 * the stream still moves past those events. Greeting, retry and heartbeats
 * do not pass through it.
 */
export type FrameView = (frames: Uint8Array) => Uint8Array;

/**
 * This isolate's open streams and its stalled-looking ones, by client: all streams of one isolate
 * share its thread, so when it is behind they all look stalled together (see stall-rule.ts).
 */
const OPEN_CLIENTS = new ClientCount();
const STALLED_CLIENTS = new ClientCount();
/** Re-dials that fail in a row before the stream is ended (the browser then reconnects itself). */
const MAX_REDIAL_FAILURES = 5;
/**
 * An object takes about 1,000 requests/s, and every re-dial attaches at the channel object first: after
 * a deploy closes every socket at once, re-dials are spread so that a channel gets about this many per
 * second, by the channel's subscriber count the stream last heard (at its latest attach).
 */
const REDIALS_PER_SECOND = 500;
const MAX_REDIAL_SPREAD_MS = 600_000;

/**
 * Opens a bridged stream: answers with the SSE response once the first
 * upstream socket is attached, or with the object's refusal (503
 * channel_full…), or null if the object predates the bridge (the caller
 * falls back to the object-held stream).
 */
export async function openBridgedStream(
  target: BridgeTarget,
  after: number | undefined,
  settings: BridgeSettings,
  signal: AbortSignal | undefined,
  view?: FrameView,
): Promise<Response | null> {
  const stream = new BridgedStream(target, settings, view);
  const refusal = await stream.connect(after);
  if (refusal !== undefined) return refusal;
  signal?.addEventListener("abort", () => stream.close("disconnected"));
  return new Response(stream.readable, { status: 200, headers: SSE_HEADERS });
}

class BridgedStream {
  readonly readable: ReadableStream<Uint8Array>;
  private controller!: ReadableStreamDefaultController<Uint8Array>;
  /** Id of the last event written to the browser. */
  private cursor = 0;
  /** Highest id known to exist. */
  private known = 0;
  private catchingUp = false;
  private closed = false;
  private socket: WebSocket | null = null;
  private subscribersSeen = 1;
  /** The fan-out object feeding this stream, if any: slow readers catch up from its recent batches first. */
  private fanout: string | null = null;
  private redialFailures = 0;
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

  /** Whose stream this is, for the stall rule: its client, or itself when the client is not known. */
  private get clientKey(): string {
    return this.target.client ?? this.id;
  }

  private markStalled(stalled: boolean): void {
    if (stalled === this.looksStalled) return;
    this.looksStalled = stalled;
    if (stalled) STALLED_CLIENTS.add(this.clientKey);
    else STALLED_CLIENTS.remove(this.clientKey);
  }
  private roomWaiter: (() => void) | null = null;
  /** Names this stream to the channel's replay gate. */
  private readonly id = crypto.randomUUID();
  private readonly allowance: ReplayAllowance;
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(
    private readonly target: BridgeTarget,
    private readonly settings: BridgeSettings,
    /** Without a view, frames are written as received (zero-copy). */
    private readonly view?: FrameView,
  ) {
    this.allowance = new ReplayAllowance(settings.replay);
    this.readable = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.controller = controller;
        },
        // Called when the browser's side has taken everything queued: room for the next page.
        pull: () => {
          const waiter = this.roomWaiter;
          this.roomWaiter = null;
          waiter?.();
        },
        cancel: () => this.close("disconnected"),
      },
      // High-water mark 0: -desiredSize is exactly the unsent bytes.
      { highWaterMark: 0, size: (chunk) => chunk.byteLength },
    );
  }

  /** First attach: the refusal to pass on, or undefined once streaming. */
  async connect(after: number | undefined): Promise<Response | null | undefined> {
    const attached = await attach(this.target, after, this.settings.maxSubscribers);
    if (attached instanceof Response || attached === null) return attached;
    const start = attached.redirect ?? attached.hello;
    this.cursor = start.resume ? start.resume.cursor : start.last;
    this.write(encodeText(formatComment("connected") + formatRetry(this.settings.retryMs)));
    // The relay.lost notice of an unknown Last-Event-ID is one of the channel's frames (a view sees it).
    if (start.resume?.notice) this.writeFrames(encodeText(start.resume.notice));
    this.use(attached);
    this.counted = true;
    OPEN_CLIENTS.add(this.clientKey);
    this.lastTickAt = Date.now();
    this.timers.add(setInterval(() => this.tick(), this.tickMs));
    this.after(Math.max(0, this.settings.closeAt - Date.now()), () => this.close("expired"));
    return undefined;
  }

  close(reason: BridgeCloseReason): void {
    if (this.closed) return;
    this.closed = true;
    this.markStalled(false);
    if (this.counted) OPEN_CLIENTS.remove(this.clientKey);
    if (reason === "stalled") this.target.log.info("subscriber dropped", { reason, cursor: this.cursor });
    for (const timer of this.timers) clearTimeout(timer);
    try {
      this.socket?.close(CLOSE_CODES[reason], reason);
    } catch {
      // Already closed.
    }
    try {
      // A clean end lets EventSource resume at once with Last-Event-ID; the others drop the backlog.
      if (reason === "expired" || reason === "rotated" || reason === "unavailable") this.controller.close();
      else this.controller.error(new Error(`stream closed: ${reason}`));
    } catch {
      // Cancelled by the runtime already.
    }
    this.roomWaiter?.();
  }

  private use({ socket, hello, redirect }: Upstream): void {
    this.socket = socket;
    this.fanout = redirect?.fanout ?? null;
    this.subscribersSeen = Math.max(hello.subscribers, redirect?.subscribers ?? 0);
    socket.addEventListener("message", (event) => {
      if (this.socket !== socket) return;
      if (typeof event.data === "string") {
        return onPresenceMessage(
          event.data,
          this.target,
          (f) => this.fits(f) && this.write(f),
          (ms, run) => this.after(ms, run),
        );
      }
      this.onBatch(event.data as ArrayBuffer);
    });
    socket.addEventListener("close", () => this.upstreamLost(socket));
    socket.addEventListener("error", () => this.upstreamLost(socket));
    this.learn(Math.max(hello.last, redirect?.last ?? 0));
    // Pushes the channel made before this fan-out object accepted the socket (or before the object was
    // registered again after emptying) never reach it: ask the channel once. (One more object request
    // per fan-out attach, which the hello of a just-woken fan-out object cannot make unnecessary.)
    if (redirect !== null) this.catchUp(true);
  }

  private onBatch(message: ArrayBuffer): void {
    if (this.closed) return;
    const batch = decodeBatch(message);
    if (batch.to <= this.cursor) {
      this.known = Math.max(this.known, batch.to);
      return; // already written: a doubled push, or a tick
    }
    if (!this.catchingUp && batch.from === this.cursor && batch.frames.byteLength > 0 && this.fits(batch.frames)) {
      this.known = Math.max(this.known, batch.to);
      this.cursor = batch.to;
      this.writeFrames(batch.frames);
      return;
    }
    // A gap (lost push, restart, tick) or a reader behind its budget: read history as it drains.
    this.learn(batch.to);
  }

  /** Notes that events up to `id` exist; catches up if the stream is behind them. */
  private learn(id: number): void {
    this.known = Math.max(this.known, id);
    if (this.known > this.cursor) this.catchUp(false);
  }

  private catchUp(force: boolean): void {
    if (this.catchingUp || this.closed) return;
    this.catchingUp = true;
    void this.readHistory(force).finally(() => {
      this.catchingUp = false;
    });
  }

  private async readHistory(force: boolean): Promise<void> {
    const channel = this.target.channels.get(this.target.channels.idFromName(this.target.channel));
    let once = force;
    // The forced read is about what the fan-out object may have missed: only the channel knows.
    let askChannel = force;
    while (!this.closed && (once || this.cursor < this.known)) {
      once = false;
      if (this.bufferedBytes > this.settings.bufferBytes / 2) await this.room();
      if (this.closed) return;
      const pageBytes = Math.ceil(this.settings.bufferBytes / 2);
      const allowance = this.allowance.check(pageBytes);
      if ("exhausted" in allowance) {
        // This connection's share of replay is spent: a clean end; the browser resumes from here.
        this.close("rotated");
        return;
      }
      if ("waitMs" in allowance) {
        once = true;
        await this.sleep(allowance.waitMs);
        continue;
      }
      if (!askChannel && (await this.readRecent(pageBytes))) continue;
      askChannel = false;
      let page: HistoryPage;
      try {
        page = await channel.readPage(this.cursor, pageBytes, this.id);
      } catch (error) {
        // The channel is unreachable: the browser resumes from its Last-Event-ID instead.
        this.target.log.warn("history read failed; ending the stream", { cursor: this.cursor, error });
        this.close("unavailable");
        return;
      }
      this.known = Math.max(this.known, page.last);
      if (page.waitMs > 0) {
        // The channel has enough streams catching up: wait for a turn (queued, not refused).
        once = true;
        await this.sleep(page.waitMs);
        continue;
      }
      this.allowance.took(page.bytes.byteLength);
      if (page.cursor <= this.cursor) return; // nothing durable past the cursor yet
      this.cursor = page.cursor;
      this.writeFrames(page.bytes);
    }
  }

  /** Catches up from the fan-out object's recent batches; false if it does not have them from the cursor. */
  private async readRecent(pageBytes: number): Promise<boolean> {
    if (this.fanout === null) return false;
    const stub = this.target.fanouts.get(this.target.fanouts.idFromName(this.fanout));
    const recent = await stub.readRecent(this.cursor, pageBytes).catch(() => null);
    if (recent === null || this.closed || recent.cursor <= this.cursor) return false;
    this.allowance.took(recent.bytes.byteLength);
    this.cursor = recent.cursor;
    this.writeFrames(recent.bytes);
    return true;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.after(ms, resolve));
  }

  /** A timer the stream forgets once it fired, and clears if the stream ends first. */
  private after(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      run();
    }, ms);
    this.timers.add(timer);
  }

  private room(): Promise<void> {
    return new Promise((resolve) => {
      this.roomWaiter = resolve;
    });
  }

  private upstreamLost(socket: WebSocket): void {
    if (this.socket !== socket || this.closed) return;
    this.socket = null;
    this.scheduleRedial();
  }

  private scheduleRedial(): void {
    // Every socket of an object closes at once on a restart or deploy: spread the re-dials.
    const spread = Math.min(MAX_REDIAL_SPREAD_MS, (this.subscribersSeen / REDIALS_PER_SECOND) * 1000);
    const delay = Math.random() * (spread + 50) + 50 * 2 ** Math.min(this.redialFailures, 6);
    this.after(delay, () => void this.redial());
  }

  private async redial(): Promise<void> {
    if (this.closed) return;
    let attached: Upstream | Response | null;
    try {
      attached = await attach(this.target, this.cursor, this.settings.maxSubscribers);
    } catch (error) {
      this.target.log.warn("re-dial failed", { cursor: this.cursor, failures: this.redialFailures + 1, error });
      attached = null;
    }
    if (this.closed) {
      if (attached && !(attached instanceof Response)) attached.socket.close(CLOSE_CODES.disconnected);
      return;
    }
    if (attached === null || attached instanceof Response) {
      this.redialFailures += 1;
      if (this.redialFailures >= MAX_REDIAL_FAILURES) this.close("unavailable");
      else this.scheduleRedial();
      return;
    }
    this.redialFailures = 0;
    this.use(attached);
  }

  private get bufferedBytes(): number {
    const desired = this.controller.desiredSize;
    return desired === null ? 0 : Math.max(0, -desired);
  }

  /** An empty queue always takes one write, so a single large event never starves a stream. */
  private fits(bytes: Uint8Array): boolean {
    const buffered = this.bufferedBytes;
    return buffered === 0 || buffered + bytes.byteLength <= this.settings.bufferBytes;
  }

  /** Channel frames, through the view if there is one. */
  private writeFrames(frames: Uint8Array): void {
    if (this.closed) return;
    this.write(this.view ? this.view(frames) : frames);
  }

  private write(bytes: Uint8Array, costMicros = deliveryCostMicros(bytes.byteLength)): void {
    if (this.closed || bytes.byteLength === 0) return;
    try {
      this.controller.enqueue(bytes);
    } catch {
      this.close("disconnected");
      return;
    }
    this.bytesWritten += bytes.byteLength;
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
