/**
 * One channel's upstream inside a bridged stream (src/edge/bridged-stream.ts):
 * the socket to the channel object or its fan-out object, the channel's
 * cursor (last id written), history catch-up, and re-dials. It writes into
 * an Outlet, the browser's one outgoing stream, which a multi-channel stream
 * shares between several feeds.
 * - Exactly once: batches at or below the cursor are dropped; a batch that
 *   does not follow on (a lost push, a restart) is filled from history.
 * - A reader that falls behind its budget stops taking live pushes and
 *   catches up from history as it drains, a page at a time.
 * - An upstream socket that closes (object restart, deploy, eviction) is
 *   re-dialled with the cursor; the browser sees nothing.
 */
import type { CloseReason } from "../stream/close-reasons";
import type { HistoryPage } from "../objects/channel-object";
import type { ReplaySettings } from "../config";
import { ReplayAllowance, replayPageBytes } from "../channel/replay-limits";
import { CLOSE_CODES, decodeBatch, encodeBatch } from "../protocol/bridge-protocol";
import { encodeText } from "../sse/codec";
import { attach, type BridgeTarget, type Upstream } from "./attach";
import { deliveryCostMicros } from "./cpu-model";
import { onPresenceMessage } from "./presence-hook";
import { objectNamed } from "../protocol/stubs";

/**
 * Rewrites a chunk of the channel's frames (whole frames: a live batch, a
 * history page, a fan-out object's recent batches) just before it is
 * written, and the relay.lost notice a resume may start with; see
 * src/sse/frames.ts to parse them. The cursor stays on the
 * channel's own ids whatever it returns: an empty result writes nothing and
 * the stream still moves past those events. Greeting, retry and heartbeats
 * do not pass through it. It says what its rewrite cost (viewCostMicros, and
 * whatever its own work adds, e.g. the Mercure hub's matchers): a view may
 * read and drop far more than it writes.
 */
export type FrameView = (frames: Uint8Array) => Viewed;

/** A view that also reads every channel's cursor of the stream (in feed order): see src/edge/multi-stream.ts. */
export type CursorView = (frames: Uint8Array, cursors: readonly number[]) => Viewed;

/** What a view writes, and the modelled CPU (µs) of its rewrite, on top of the write's delivery cost. */
interface Viewed {
  readonly bytes: Uint8Array;
  readonly costMicros: number;
}

/** What a feed needs of the outgoing stream it writes into. */
export interface Outlet {
  readonly closed: boolean;
  /** Every feed's cursor, in feed order. */
  readonly cursors: readonly number[];
  /** Bytes queued for the browser and not yet taken. */
  readonly bufferedBytes: number;
  /** Whether `bytes` may be written now without passing the stream's budget. */
  fits(bytes: Uint8Array): boolean;
  /**
   * Counts the write's modelled CPU (deliveryCostMicros by default). `atCursor`: the bytes end with
   * an event whose id is the feeds' cursors, so the client's last event id is where the stream is.
   */
  write(bytes: Uint8Array, costMicros?: number, atCursor?: boolean): void;
  /** A frame of which only the newest of its key counts (a channel's presence): see StreamOutlet.writeLatest. */
  writeLatest(key: string, bytes: Uint8Array): void;
  /** Resolves when the browser has taken everything queued (or the stream closed). */
  room(): Promise<void>;
  sleep(ms: number): Promise<void>;
  /** A timer cleared if the stream ends first. */
  after(ms: number, run: () => void): void;
  close(reason: CloseReason): void;
}

export interface FeedSettings {
  /** Unsent bytes past which the stream stops taking live pushes and catches up from history. */
  readonly bufferBytes: number;
  /** MAX_SUBSCRIBERS_PER_CHANNEL, for the refusal when no fan-out object has room. */
  readonly maxSubscribers: number;
  /** Replay bytes per second and in all for this channel of the stream (the channel bounds concurrent replays). */
  readonly replay: Pick<ReplaySettings, "bytesPerSecond" | "maxBytesPerStream">;
}

/** Re-dials that fail in a row before the stream is ended (the browser then reconnects itself). */
const MAX_REDIAL_FAILURES = 5;
/**
 * An object takes about 1,000 requests/s, and every re-dial attaches at the channel object first: after
 * a deploy closes every socket at once, re-dials are spread so that a channel gets about this many per
 * second, by the channel's subscriber count the stream last heard (at its latest attach).
 */
const REDIALS_PER_SECOND = 500;
const MAX_REDIAL_SPREAD_MS = 600_000;

export class ChannelFeed {
  /** Id of the last event of this channel written to the browser. */
  cursor = 0;
  /** Highest id known to exist. */
  private known = 0;
  /** Events up to here existed when the stream attached: a batch within them is history (the attach's first page). */
  private historyUpTo = 0;
  private catchingUp = false;
  /** The channel's replay gate holds a lease or a place in line for this feed (see leaveGate). */
  private inGate = false;
  private socket: WebSocket | null = null;
  private subscribersSeen = 1;
  /** The fan-out object feeding this stream, if any: slow readers catch up from its recent batches first. */
  private fanout: string | null = null;
  /** The channel's ticket for this feed's stream on that fan-out object: a re-dial names it (attach.ts). */
  private ticket: string | undefined;
  private redialFailures = 0;
  /** Batches that arrived between the first attach and start(): written once every feed is attached. */
  private pending: ArrayBuffer[] | null = [];
  private notice: string | null = null;
  private first: Upstream | null = null;
  /** Names this feed to the channel's replay gate. */
  private readonly id = crypto.randomUUID();
  private readonly allowance: ReplayAllowance;

  constructor(
    readonly target: BridgeTarget,
    private readonly settings: FeedSettings,
    private readonly out: Outlet,
    /** Without a view, frames are written as received (zero-copy). */
    private readonly view?: CursorView,
  ) {
    this.allowance = new ReplayAllowance(settings.replay);
  }

  /**
   * First attach: sets the cursor and listens, writing nothing until start().
   * The refusal to pass on, null if the object predates the bridge, or undefined when attached.
   */
  async attach(after: number | undefined): Promise<Response | null | undefined> {
    const attached = await attach(this.target, after, this.settings.maxSubscribers);
    if (attached instanceof Response || attached === null) return attached;
    const start = attached.redirect ?? attached.hello;
    this.cursor = start.resume ? start.resume.cursor : start.last;
    this.notice = start.resume?.notice ?? null;
    this.first = attached;
    // A redirect carries the first page of a resume (the channel object sends it after its hello).
    const page = attached.redirect?.page;
    if (page) this.pending?.push(encodeBatch(this.cursor, page.to, encodeText(page.frames)).buffer as ArrayBuffer);
    this.listen(attached);
    return undefined;
  }

  /**
   * The relay.lost notice of an unknown Last-Event-ID, through the view (it is one of the channel's
   * frames): the stream writes it with its greeting and resume point, before start().
   */
  opening(): Uint8Array {
    const notice = this.notice === null ? new Uint8Array(0) : encodeText(this.notice);
    this.notice = null;
    return this.view ? this.view(notice, this.out.cursors).bytes : notice;
  }

  /** Starts writing: the batches that came meanwhile, then whatever is missing. */
  start(): void {
    const pending = this.pending ?? [];
    this.pending = null;
    for (const message of pending) this.onBatch(message);
    if (this.first !== null) this.follow(this.first);
    this.first = null;
  }

  /** Ends the upstream socket (the outlet has closed). */
  close(reason: CloseReason): void {
    this.leaveGate();
    try {
      this.socket?.close(CLOSE_CODES[reason], reason);
    } catch {
      // Already closed.
    }
    this.socket = null;
  }

  private listen({ socket, hello, redirect, early }: Upstream): void {
    this.socket = socket;
    this.fanout = redirect?.fanout ?? null;
    this.ticket = redirect?.ticket;
    this.subscribersSeen = Math.max(hello.subscribers, redirect?.subscribers ?? 0);
    this.historyUpTo = Math.max(hello.last, redirect?.last ?? 0);
    const receive = (data: MessageEvent["data"]) => {
      if (this.socket !== socket) return;
      if (typeof data === "string") {
        // Presence (src/channel/presence.ts): a count to show, or a call-back the channel asks for.
        onPresenceMessage(
          data,
          this.target,
          (frame) => this.out.writeLatest(this.target.channel, frame),
          (ms, run) => this.out.after(ms, run),
        );
        return;
      }
      if (this.pending !== null) this.pending.push(data as ArrayBuffer);
      else this.onBatch(data as ArrayBuffer);
    };
    for (const data of early()) receive(data);
    socket.addEventListener("message", (event) => receive(event.data));
    socket.addEventListener("close", () => this.upstreamLost(socket));
    socket.addEventListener("error", () => this.upstreamLost(socket));
  }

  private follow({ hello, redirect }: Upstream): void {
    this.learn(Math.max(hello.last, redirect?.last ?? 0));
    // Pushes the channel made before this fan-out object accepted the socket (or before the object was
    // registered again after emptying) never reach it: ask the channel once. (One more object request
    // per fan-out attach, which the hello of a just-woken fan-out object cannot make unnecessary.)
    if (redirect !== null) this.catchUp(true);
  }

  private onBatch(message: ArrayBuffer): void {
    if (this.out.closed) return;
    const batch = decodeBatch(message);
    if (batch.to <= this.cursor) {
      this.known = Math.max(this.known, batch.to);
      return; // already written: a doubled push, or a tick
    }
    // A batch that follows on is written whenever it fits, also while the feed catches up (a history
    // read in flight then sees the cursor moved and drops its page): live events are never held back
    // behind a wait for history, and a stream waiting for its turn at the channel's replay gate still
    // takes the first page its attach brought and what follows on from it.
    if (batch.from === this.cursor && batch.frames.byteLength > 0 && this.out.fits(batch.frames)) {
      // The first page an attach brings counts against this stream's replay share like any other.
      if (batch.to <= this.historyUpTo) this.allowance.took(batch.frames.byteLength);
      this.known = Math.max(this.known, batch.to);
      this.cursor = batch.to;
      this.writeFrames(batch.frames, true);
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
    if (this.catchingUp || this.out.closed) return;
    this.catchingUp = true;
    void this.readHistory(force).finally(() => {
      this.catchingUp = false;
    });
  }

  private async readHistory(force: boolean): Promise<void> {
    const channel = objectNamed(this.target.channels, this.target.channel);
    let once = force;
    // The forced read is about what the fan-out object may have missed: only the channel knows.
    let askChannel = force;
    while (!this.out.closed && (once || this.cursor < this.known)) {
      once = false;
      if (this.out.bufferedBytes > this.settings.bufferBytes / 2) await this.out.room();
      if (this.out.closed) return;
      const pageBytes = replayPageBytes(this.settings.bufferBytes);
      const allowance = this.allowance.check(pageBytes);
      if ("exhausted" in allowance) {
        // This connection's share of replay is spent: a clean end; the browser resumes from here.
        this.out.close("rotated");
        return;
      }
      if ("waitMs" in allowance) {
        once = true;
        await this.out.sleep(allowance.waitMs);
        continue;
      }
      if (!askChannel && (await this.readRecent(pageBytes))) continue;
      askChannel = false;
      const from = this.cursor;
      let page: HistoryPage;
      try {
        page = await channel.readPage(this.cursor, pageBytes, this.id, this.target.client);
      } catch (error) {
        // The channel is unreachable: the browser resumes from its Last-Event-ID instead.
        this.target.log.warn("history read failed; ending the stream", { cursor: this.cursor, error });
        this.out.close("unavailable");
        return;
      }
      // The gate keeps this feed's lease or place until it catches up or says it left.
      this.inGate = page.waitMs > 0 || page.cursor < page.last;
      if (this.out.closed) {
        this.leaveGate();
        return;
      }
      this.known = Math.max(this.known, page.last);
      if (page.waitMs > 0) {
        // The channel has enough streams catching up: wait for a turn (queued, not refused).
        once = true;
        await this.out.sleep(page.waitMs);
        continue;
      }
      if (this.cursor !== from) continue; // live batches moved the stream meanwhile: this page overlaps them
      this.allowance.took(page.bytes.byteLength);
      if (page.cursor <= this.cursor) return; // nothing durable past the cursor yet
      this.cursor = page.cursor;
      this.writeFrames(page.bytes);
    }
    // Caught up by live batches while it held a lease or a place: free it now, not when it expires.
    if (!this.out.closed) this.leaveGate();
  }

  /**
   * A feed that ends while catching up tells the channel, as a direct-mode stream's removal does:
   * otherwise its lease or place at the replay gate stays taken until it expires.
   */
  private leaveGate(): void {
    if (!this.inGate) return;
    this.inGate = false;
    const channel = objectNamed(this.target.channels, this.target.channel);
    channel.leaveReplay(this.id).catch(() => {
      // Unreachable: the place expires on its own.
    });
  }

  /** Catches up from the fan-out object's recent batches; false if it does not have them from the cursor. */
  private async readRecent(pageBytes: number): Promise<boolean> {
    if (this.fanout === null) return false;
    const stub = objectNamed(this.target.fanouts, this.fanout);
    const from = this.cursor;
    const recent = await stub.readRecent(from, pageBytes).catch(() => null);
    if (this.cursor !== from) return true; // live batches moved the stream meanwhile: read again from there
    if (recent === null || this.out.closed || recent.cursor <= this.cursor) return false;
    this.allowance.took(recent.bytes.byteLength);
    this.cursor = recent.cursor;
    this.writeFrames(recent.bytes, true);
    return true;
  }

  private upstreamLost(socket: WebSocket): void {
    if (this.socket !== socket || this.out.closed) return;
    this.socket = null;
    this.scheduleRedial();
  }

  private scheduleRedial(): void {
    // Every socket of an object closes at once on a restart or deploy: spread the re-dials.
    const spread = Math.min(MAX_REDIAL_SPREAD_MS, (this.subscribersSeen / REDIALS_PER_SECOND) * 1000);
    const delay = Math.random() * (spread + 50) + 50 * 2 ** Math.min(this.redialFailures, 6);
    this.out.after(delay, () => void this.redial());
  }

  private async redial(): Promise<void> {
    if (this.out.closed) return;
    let attached: Upstream | Response | null;
    try {
      attached = await attach(this.target, this.cursor, this.settings.maxSubscribers, this.ticket);
    } catch (error) {
      this.target.log.warn("re-dial failed", { cursor: this.cursor, failures: this.redialFailures + 1, error });
      attached = null;
    }
    if (this.out.closed) {
      if (attached && !(attached instanceof Response)) attached.socket.close(CLOSE_CODES.disconnected);
      return;
    }
    if (attached === null || attached instanceof Response) {
      this.redialFailures += 1;
      if (this.redialFailures >= MAX_REDIAL_FAILURES) this.out.close("unavailable");
      else this.scheduleRedial();
      return;
    }
    this.redialFailures = 0;
    this.listen(attached);
    this.follow(attached);
  }

  /**
   * Channel frames, through the view if there is one. `atCursor`: they are whole batches, so they end
   * with the event whose id is the cursor (a history page may end with a relay.lost notice instead).
   */
  private writeFrames(frames: Uint8Array, atCursor = false): void {
    if (this.out.closed) return;
    if (!this.view) {
      this.out.write(frames, undefined, atCursor);
      return;
    }
    const { bytes, costMicros } = this.view(frames, this.out.cursors);
    this.out.write(bytes, deliveryCostMicros(bytes.byteLength) + costMicros);
  }
}
