/**
 * One Durable Object per channel: the channel's single writer. It numbers
 * events, keeps their durable history, and hands each durable batch to the
 * channel's subscribers, in one of two delivery modes:
 * - hibernating (default): Workers hold the browsers' SSE streams and attach
 *   here over hibernatable WebSockets (BridgeSockets); past FANOUT_THRESHOLD
 *   they attach to fan-out objects instead, which this object pushes to
 *   (FanoutRegistry). The object leaves memory between events.
 * - direct: this object holds the SSE streams itself (DirectStreams).
 *
 * Public surface (used by the Worker and fan-out objects only):
 * - `fetch(/attach)`: a Worker's bridge socket, or a redirect to a fan-out object;
 * - `fetch(/subscribe)`: a direct-mode SSE stream;
 * - `publish(events)`, `readPage(after, maxBytes, stream, client?)`, `stats()`, `locate(externalId)`;
 * - `secret()`: the object's own random secret (src/channel/object-secret.ts; the Mercure hub's mark key);
 * - `ensureFanout`, `fanoutEmptied`: fan-out objects keeping the registry right (`fanoutEmptied`,
 *   `fanoutPresence` and push receipts also say what happened to the tickets by which the channel
 *   counts each client's streams on fan-out objects: src/channel/client-shares.ts);
 * - `alarm()`: Redis polling while subscribed, and re-announcing the last id
 *   to fan-out objects after a restart, and a waiting presence count;
 * - `presenceCount`, `fanoutPresence`: presence (src/channel/channel-presence.ts).
 *
 * Delivery invariant: an event is handed out only after its write is
 * durable (`storage.sync()`), and `deliveredId` is the highest such id.
 */
import { DurableObject } from "cloudflare:workers";
import { type RelayConfig, configFromEnv } from "../config";
import { errorResponse } from "../error-response";
import { type Logger, log } from "../log";
import type { Env } from "../env";
import type { RedisStatus } from "../redis/ingest";
import { RedisPoller } from "../redis/poller";
import { IdempotencyStore, type Reservation } from "../channel/idempotency-store";
import { concatBytes } from "../sse/codec";
import { SSE_HEADERS } from "../sse/headers";
import { encodeBatch, type Redirect } from "../protocol/bridge-protocol";
import { DirectStreams } from "../channel/direct-streams";
import { type CloseReason, type ClosedStreams, isCounted } from "../stream/close-reasons";
import type { EventInput, IdempotencyRequest } from "../events/events";
import { ExternalIds } from "../channel/external-ids";
import { objectSecret } from "../channel/object-secret";
import { FanoutRegistry } from "../channel/fanout-registry";
import { ClientShares, type TicketReport } from "../channel/client-shares";
import {
  AFTER_HEADER,
  CLIENT_HEADER,
  EXPIRES_HEADER,
  FULL_HEADER,
  REGION_HEADER,
  REPLACES_HEADER,
} from "../protocol/headers";
import { channelFull, tooManyStreams } from "../protocol/refusals";
import { ChannelHistory, type StoredEvent } from "../channel/history";
import { catchUpAt, encodeStored, type ReplayPage, readPage, resumePoint } from "../channel/replay";
import { ReplayGate, replayPageBytes } from "../channel/replay-limits";
import { BridgeSockets } from "./bridge-sockets";
import { ChannelPresence } from "../channel/channel-presence";
import { encodePresenceDue } from "../channel/presence";
import { objectNamed } from "../protocol/stubs";

/** What a publish did: stored new events, returned a retried request's ids, or refused a reused key. */
export type PublishOutcome =
  | { readonly status: "published" | "replayed"; readonly ids: readonly string[] }
  | { readonly status: "key-conflict" };

export interface ChannelStats {
  readonly mode: "hibernating" | "direct";
  /** Streams open, across this object and its fan-out objects. */
  readonly subscribers: number;
  /** Direct mode: unsent bytes queued in this object. Hibernating: null (the Workers hold them). */
  readonly bufferedBytes: number | null;
  /** Streams ended by the relay since this object last started, by reason. */
  readonly closedStreams: Readonly<ClosedStreams>;
  readonly fanouts: readonly { readonly name: string; readonly subscribers: number }[];
  /** When this instance of the object started: it changes each time the object wakes from hibernation. */
  readonly objectStartedAt: string;
  readonly lastEventId: string | null;
  readonly oldestEventId: string | null;
  readonly eventsRetained: number;
  readonly historyLimit: number;
  readonly redis: RedisStatus | { readonly enabled: false };
}

/** What `locate` found of a publisher's id, and the retained range. */
export interface Location {
  readonly id: number | null;
  readonly data: string | null;
  readonly oldest: number | null;
  readonly last: number;
}

/** A page of history for a catching-up Worker stream (see readPage). */
/** History pages are UTF-8 SSE text: a redirect (JSON) carries its first page as text. */
const PAGE_TEXT = new TextDecoder();

export interface HistoryPage extends ReplayPage {
  /** Highest durable id. */
  readonly last: number;
  /** Non-zero: too many streams are catching up; ask again after this long (bytes is empty). */
  readonly waitMs: number;
}

/** After a commit on a channel with fan-out objects, when the last id is re-announced to them. */
export const REANNOUNCE_DELAY_MS = 1_000;

export class ChannelObject extends DurableObject<Env> {
  private readonly config: RelayConfig;
  private readonly history: ChannelHistory;
  private readonly direct: DirectStreams;
  private readonly sockets: BridgeSockets;
  private readonly fanouts: FanoutRegistry;
  /** Each client's streams on the fan-out objects (its streams here are counted from their sockets). */
  private readonly shares: ClientShares;
  /** Encoded frames stored but not yet durable, waiting to be handed out. */
  private readonly pendingFrames = new Map<number, Uint8Array>();
  /** Highest event id that is durable and has been handed out. */
  private deliveredId: number;
  /** Highest event id known durable (handed out in a microtask). */
  private durableId: number;
  private deliveryScheduled = false;
  private readonly closedStreams: ClosedStreams = { overflow: 0, stalled: 0, expired: 0 };
  private readonly redis: RedisPoller | null;
  private readonly idempotency: IdempotencyStore;
  private readonly externalIds: ExternalIds;
  private readonly startedAt = new Date().toISOString();
  private readonly replayGate: ReplayGate;
  /**
   * The channel's name, from one place: the name the Worker addressed this object by (`ctx.id.name`,
   * which the platform gives every entry point, alarms and wake-ups from hibernation included).
   */
  private readonly channel: string;
  /** Every line names the channel. */
  private readonly log: Logger;
  private readonly presence: ChannelPresence;
  /** The Worker asked to call `presenceDue` back, and for which wait. */
  private presenceCallback: { readonly at: number; readonly socket: WebSocket } | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.config = configFromEnv(env);
    this.channel = nameOf(ctx);
    this.log = log.with({ channel: this.channel, object: "channel" });
    this.history = new ChannelHistory(ctx.storage, this.config.historyLimit);
    // Whatever is in storage when the object starts is durable by definition.
    this.deliveredId = this.history.lastEventId;
    this.durableId = this.deliveredId;
    this.idempotency = new IdempotencyStore(ctx.storage.sql, this.config.idempotencyTtlSeconds * 1000);
    this.externalIds = new ExternalIds(ctx.storage.sql);
    this.replayGate = new ReplayGate(this.config.replay.concurrency);
    this.direct = new DirectStreams(this.history, this.config, {
      deliveredId: () => this.deliveredId,
      closed: this.closedStreams,
      replayGate: this.replayGate,
      log: this.log,
      onSizeChange: () => this.presence.changed(),
    });
    this.sockets = new BridgeSockets(ctx);
    this.fanouts = new FanoutRegistry(ctx.storage.sql, env, this.config.fanout, this.log, {
      emptied: (name) => this.shares.emptied(name),
      tickets: (name, report) => this.shares.report(name, report),
    });
    this.shares = new ClientShares(
      {
        names: () => this.fanouts.names(),
        tickets: (name) => objectNamed(env.FANOUTS, name).tickets(),
      },
      // A ticket per stream on a fan-out object: more than the channel can hold means stale ones.
      this.config.maxSubscribersPerChannel + this.config.fanout.size,
      this.fanouts.size === 0,
    );
    const redis = this.config.redis;
    this.redis = redis && new RedisPoller(ctx.storage.sql, redis, this.config, this.log, this.channel);
    this.presence = new ChannelPresence(
      this.channel,
      this.config.presence,
      env,
      {
        ownCount: () => this.direct.size + this.sockets.size,
        fanoutNames: () => this.fanouts.names(),
        sendLocal: (message, frame) => {
          this.sockets.broadcast(message);
          if (this.direct.size > 0) this.direct.sendPresence(this.channel, frame);
        },
        wake: (at) => this.wakeForPresence(at),
      },
      this.log,
    );
  }

  override async fetch(request: Request): Promise<Response> {
    return this.guard("fetch", async () => {
      const url = new URL(request.url);
      if (request.method !== "GET") return errorResponse(404, "not_found", "No such object route.");
      if (url.pathname === "/attach") return this.attach(request);
      if (url.pathname === "/subscribe") return this.subscribeDirect(request);
      return errorResponse(404, "not_found", "No such object route.");
    });
  }

  /**
   * Stores events (all or none), waits until they are durable, then hands
   * them out. With an idempotency key seen before, stores nothing and
   * returns the first request's ids (or a conflict if the events differ).
   * `externalIds`, one per event: the publisher's own ids, which `locate` maps back.
   */
  async publish(
    events: readonly EventInput[],
    idempotency?: IdempotencyRequest,
    externalIds?: readonly string[],
  ): Promise<PublishOutcome> {
    return this.guard("publish", async () => {
      if (idempotency) {
        const seen = this.idempotency.lookup(idempotency.key, idempotency.fingerprint);
        if (seen) {
          return seen.fingerprint === idempotency.fingerprint
            ? { status: "replayed", ids: seen.ids }
            : { status: "key-conflict" };
        }
      }
      const stored = await this.commit(events, (inserted) => {
        if (idempotency) this.idempotency.remember(idempotency.key, idempotency.fingerprint, idsOf(inserted));
        if (externalIds) {
          const pairs = inserted.map((event, index) => [externalIds[index]!, event.id] as const);
          this.externalIds.remember(pairs, this.history.oldestEventId());
        }
      });
      return { status: "published", ids: idsOf(stored) };
    });
  }

  /**
   * Where a publisher-chosen id (see `publish`'s `externalIds`) stands: the number and data of the
   * earliest retained event published with it (null when unknown or pruned), and the retained range
   * (the oldest retained number, null when none; the last durable one).
   */
  async locate(externalId: string): Promise<Location> {
    return this.guard("locate", async () => {
      const id = this.externalIds.lookup(externalId);
      const event = id === null ? undefined : this.history.readRange(id - 1, id, 1)[0];
      return {
        id: event?.id ?? null,
        data: event?.data ?? null,
        oldest: this.history.oldestEventId(),
        last: this.deliveredId,
      };
    });
  }

  /** This object's random secret, made on the first call and kept (see src/channel/object-secret.ts). */
  async secret(): Promise<Uint8Array> {
    return this.guard("secret", async () => {
      return objectSecret(this.ctx.storage.sql);
    });
  }

  /**
   * History after `after` (up to the last durable event) as SSE bytes, at
   * most about `maxBytes`, for the catching-up stream `stream` of `client`
   * (its client key; the stream counts as its own client without one). A
   * stream with nothing to read, or whose rest fits in this page, is answered
   * at once; the others go through the channel's replay gate, which may
   * answer `waitMs` instead (and nothing else): the stream asks again then.
   */
  async readPage(after: number, maxBytes: number, stream: string, client?: string | null): Promise<HistoryPage> {
    return this.guard("readPage", async () => {
      const last = this.deliveredId;
      const { ask, page: peeked } = catchUpAt(this.history, after, last, maxBytes, client ?? stream);
      const waitMs = this.replayGate.enter(stream, ask);
      if (waitMs > 0) return { bytes: new Uint8Array(0), cursor: after, last, waitMs };
      const page = peeked ?? readPage(this.history, after, last, maxBytes);
      if (page.cursor >= last) this.replayGate.leave(stream);
      return { ...page, last, waitMs: 0 };
    });
  }

  /** A catching-up stream ended: its lease or place at the replay gate is free at once. */
  async leaveReplay(stream: string): Promise<void> {
    return this.guard("leaveReplay", async () => {
      this.replayGate.leave(stream);
    });
  }

  async ensureFanout(name: string, region: string, activation: number): Promise<void> {
    return this.guard("ensureFanout", async () => {
      this.fanouts.ensure(name, region, activation);
    });
  }

  /**
   * A fan-out object lost its last subscriber; `closed`: its streams' ends since it last reported;
   * `tickets`: what happened to tickets since then (src/channel/client-shares.ts).
   */
  async fanoutEmptied(
    name: string,
    activation: number,
    closed: { readonly stalled: number; readonly expired: number },
    tickets?: TicketReport,
  ): Promise<void> {
    return this.guard("fanoutEmptied", async () => {
      if (tickets) this.shares.report(name, tickets);
      this.closedStreams.stalled += closed.stalled;
      this.closedStreams.expired += closed.expired;
      this.fanouts.emptied(name, activation);
      this.presence.fanoutGone(name);
    });
  }

  /** A fan-out object's subscriber count changed (presence channels only); `seq` orders its reports. */
  async fanoutPresence(name: string, seq: number, subscribers: number, tickets?: TicketReport): Promise<void> {
    return this.guard("fanoutPresence", async () => {
      if (tickets) this.shares.report(name, tickets);
      this.presence.fanoutReported(name, seq, subscribers);
    });
  }

  /** Streams open on the channel, across its fan-out objects (the presence read). */
  async presenceCount(): Promise<number> {
    return this.guard("presenceCount", async () => {
      return this.presence.count();
    });
  }

  /** A Worker's call-back for a presence change held back by the interval (see wakeForPresence). */
  async presenceDue(): Promise<void> {
    return this.guard("presenceDue", async () => {
      await this.presence.due();
    });
  }

  /** A batch over several channels reserves its key on each before storing anything (see IdempotencyStore). */
  reserveIdempotencyKey(idempotency: IdempotencyRequest): Reservation {
    return this.idempotency.reserve(idempotency.key, idempotency.fingerprint);
  }

  /** Drops a reservation of a batch that was refused. */
  releaseIdempotencyKey(idempotency: IdempotencyRequest): void {
    this.idempotency.release(idempotency.key, idempotency.fingerprint);
  }

  /** Redis polling while anyone is subscribed, and the post-restart re-announcement to fan-out objects. */
  override async alarm(): Promise<void> {
    return this.guard("alarm", async () => {
      if (this.fanouts.size > 0) this.fanouts.reannounce(this.deliveredId);
      await this.presence.due();
      if (!this.redis) return;
      const next = await this.redis.poll(this.subscriberCount() > 0, (events, also) => this.commit(events, also));
      if (next !== null) await this.schedule("redis", Date.now() + next);
      await this.presence.rearm();
    });
  }

  /**
   * Every entry point runs through here (partyserver's model): a failure is logged with the
   * channel's name and the entry point, then rethrown to the caller (the Worker retries, resumes or
   * answers 500), so no failure inside an object goes unnamed.
   */
  private async guard<T>(entry: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      this.log.error("object entry point failed", { entry, error });
      throw error;
    }
  }

  /** `mode`: how the Worker serves this channel (DIRECT_CHANNEL_PREFIXES is the Worker's setting). */
  async stats(mode: ChannelStats["mode"]): Promise<ChannelStats> {
    return this.guard("stats", async () => {
      const history = this.history.stats();
      const closedStreams = { ...this.closedStreams };
      const fanouts = await Promise.all(
        this.fanouts.names().map(async (name) => {
          const stub = objectNamed(this.env.FANOUTS, name);
          const count = await stub.count().catch(() => ({ subscribers: 0, stalled: 0, expired: 0 }));
          closedStreams.stalled += count.stalled;
          closedStreams.expired += count.expired;
          return { name, subscribers: count.subscribers };
        }),
      );
      const direct = mode === "direct";
      return {
        mode,
        subscribers:
          this.direct.size + this.sockets.size + fanouts.reduce((sum, fanout) => sum + fanout.subscribers, 0),
        bufferedBytes: direct ? this.direct.bufferedBytes : null,
        closedStreams,
        fanouts,
        objectStartedAt: this.startedAt,
        lastEventId: history.lastEventId > 0 ? String(history.lastEventId) : null,
        oldestEventId: history.oldestEventId === null ? null : String(history.oldestEventId),
        eventsRetained: history.eventsRetained,
        historyLimit: this.config.historyLimit,
        redis: this.redis ? this.redis.status() : { enabled: false },
      };
    });
  }

  /** Resets this object as a crash would (served only by the loopback-only test hooks). */
  async restartForTesting(): Promise<void> {
    this.log.warn("object restart requested by a test hook");
    this.ctx.abort("restart requested by a test hook");
  }

  override async webSocketClose(socket: WebSocket, code: number): Promise<void> {
    return this.guard("webSocketClose", async () => {
      this.countClose(this.sockets.closed(socket, code));
      this.presence.changed();
    });
  }

  override async webSocketError(socket: WebSocket): Promise<void> {
    return this.guard("webSocketError", async () => {
      this.countClose(this.sockets.closed(socket, 1006));
      this.presence.changed();
    });
  }

  /**
   * A Worker's bridge socket: accepted here, or sent to a fan-out object past the threshold. Either
   * way the client's share is its streams here and on every fan-out object (after a restart, once
   * the fan-out objects have said what they hold); before a refusal, the objects holding its streams
   * are asked which are still open (src/channel/client-shares.ts).
   */
  private async attach(request: Request): Promise<Response> {
    const client = request.headers.get(CLIENT_HEADER);
    if (client !== null) {
      if (!this.shares.loaded) await this.shares.load();
      const replaced = request.headers.get(REPLACES_HEADER);
      if (replaced !== null) this.shares.replace(client, replaced);
      if (this.clientStreams(client) >= this.config.maxStreamsPerClient) await this.shares.recheck(client);
      if (this.shares.full) await this.shares.checkAll();
    }
    // From here on nothing waits: the checks and the placement see the same counts.
    return this.attachNow(request, client);
  }

  /** A client's streams on the channel: its sockets here and its tickets on fan-out objects. */
  private clientStreams(client: string): number {
    return this.sockets.countClient(client) + this.shares.count(client);
  }

  private attachNow(request: Request, client: string | null): Response {
    const channel = this.channel;
    if (this.subscriberCount() >= this.config.maxSubscribersPerChannel) return this.full();
    if (client !== null && this.clientStreams(client) >= this.config.maxStreamsPerClient) {
      return tooManyStreams(this.config.maxStreamsPerClient);
    }
    const afterHeader = request.headers.get(AFTER_HEADER);
    const resume = afterHeader === null ? undefined : resumePoint(this.history, Number(afterHeader));
    const common = { last: this.deliveredId, ...(resume ? { resume } : {}) };
    // A stream resuming from behind gets its first page now, so it makes progress however short it
    // lives and whatever the replay gate says later (under churn, streams that ended without the
    // Worker knowing yet can hold the gate; a stream that must wait for a turn may end first).
    const firstPage = (): ReplayPage | null =>
      resume && resume.cursor < this.deliveredId
        ? readPage(this.history, resume.cursor, this.deliveredId, replayPageBytes(this.config.streamBufferBytes))
        : null;
    if (this.sockets.size < this.config.fanout.threshold) {
      this.startRedisPolling();
      const attachment = client === null ? { channel } : { channel, client };
      const first = firstPage();
      const accepted = this.sockets.accept(
        request,
        attachment,
        { ...common, subscribers: this.subscriberCount() + 1 },
        first && resume ? encodeBatch(resume.cursor, first.cursor, first.bytes) : undefined,
      );
      if (accepted.status === 101) this.presence.changed();
      return accepted;
    }
    const region = request.headers.get(REGION_HEADER) ?? "any";
    // Past the ledger's bound (checked just now) no new tickets.
    if (client !== null && this.shares.full) return this.full();
    const fanout = this.fanouts.assign(channel, region, request.headers.get(FULL_HEADER), client);
    if (fanout === null) return this.full();
    const ticket = client === null ? undefined : this.shares.place(client, fanout);
    // A refused request changes nothing: polling starts only for a subscriber that is let in.
    this.startRedisPolling();
    const first = firstPage();
    const redirect: Redirect = {
      t: "redirect",
      fanout,
      locationHint: locationHintOf(region),
      subscribers: this.subscriberCount(),
      ...common,
      ...(first ? { page: { to: first.cursor, frames: PAGE_TEXT.decode(first.bytes) } } : {}),
      ...(ticket === undefined ? {} : { ticket }),
    };
    return Response.json(redirect);
  }

  private subscribeDirect(request: Request): Response {
    if (this.subscriberCount() >= this.config.maxSubscribersPerChannel) return this.full();
    const client = request.headers.get(CLIENT_HEADER);
    if (client !== null && this.direct.countClient(client) >= this.config.maxStreamsPerClient) {
      return tooManyStreams(this.config.maxStreamsPerClient);
    }
    const afterHeader = request.headers.get(AFTER_HEADER);
    const after = afterHeader === null ? undefined : Number(afterHeader);
    const expiresHeader = request.headers.get(EXPIRES_HEADER);
    const subscriber = this.direct.open(after, expiresHeader === null ? null : Number(expiresHeader), client);
    request.signal?.addEventListener("abort", () => subscriber.close("disconnected"));
    this.startRedisPolling();
    return new Response(subscriber.stream, { status: 200, headers: SSE_HEADERS });
  }

  private full(): Response {
    return channelFull(this.config.maxSubscribersPerChannel);
  }

  private subscriberCount(): number {
    return this.direct.size + this.sockets.size + this.fanouts.subscribers;
  }

  private countClose(reason: CloseReason): void {
    if (isCounted(reason)) this.closedStreams[reason] += 1;
  }

  /**
   * Stores events and runs `alsoInTransaction` in one transaction, waits for
   * durability, then hands them out. Both HTTP publishes and Redis entries
   * come through here, so they share one id sequence and interleave in
   * arrival order.
   */
  private async commit(
    events: readonly EventInput[],
    alsoInTransaction?: (stored: readonly StoredEvent[]) => void,
  ): Promise<StoredEvent[]> {
    const stored = this.history.append(events, alsoInTransaction);
    for (const event of stored) this.pendingFrames.set(event.id, encodeStored(event));
    // If this object dies between the commit and the pushes, fan-out subscribers of a quiet channel
    // would never hear of these events: a durable alarm re-announces the last id to them.
    if (stored.length > 0 && this.fanouts.size > 0) await this.schedule("reannounce", Date.now() + REANNOUNCE_DELAY_MS);
    await this.ctx.storage.sync();
    if (stored.length > 0) this.markDurable(stored[stored.length - 1]!.id);
    return stored;
  }

  /**
   * Records that events up to `id` are durable and hands them out in a
   * microtask: publishes whose durability waits end together then go out
   * as one buffer, in one pass.
   */
  private markDurable(id: number): void {
    this.durableId = Math.max(this.durableId, id);
    if (this.deliveryScheduled) return;
    this.deliveryScheduled = true;
    queueMicrotask(() => {
      this.deliveryScheduled = false;
      this.deliverUpTo(this.durableId);
    });
  }

  private deliverUpTo(id: number): void {
    if (id <= this.deliveredId) return;
    const from = this.deliveredId;
    const frames: Uint8Array[] = [];
    for (let next = from + 1; next <= id; next++) {
      const frame = this.pendingFrames.get(next);
      if (frame) frames.push(frame);
      this.pendingFrames.delete(next);
    }
    this.deliveredId = id;
    // One buffer for the whole burst, shared by every subscriber.
    const bytes = concatBytes(frames);
    const complete = frames.length === id - from;
    if (this.direct.size > 0) this.direct.deliver(from, id, bytes, complete);
    // An incomplete burst (frames of another instance's events) goes out as a tick: Workers fill it from history.
    const batch = complete ? bytes : new Uint8Array(0);
    const batchFrom = complete ? from : id;
    this.sockets.broadcast(() => encodeBatch(batchFrom, id, batch));
    if (this.fanouts.size > 0) this.fanouts.push(batchFrom, id, batch);
  }

  /**
   * The object's one alarm serves three jobs: re-announcing the last id to fan-out objects after a
   * restart, a presence count held back by its interval, and Redis polling. Each asks for a time;
   * the alarm is set to the earliest asked, never pushed later, and alarm() runs every job that is
   * due (each checks for itself, so an alarm early for one job is harmless to the others).
   */
  private async schedule(job: "reannounce" | "presence" | "redis", at: number): Promise<void> {
    const current = await this.ctx.storage.getAlarm();
    if (current !== null && current <= at) return;
    await this.ctx.storage.setAlarm(at);
    this.log.debug("alarm set", { job, inMs: at - Date.now() });
  }

  /**
   * Presence waits out its interval without storage where it can: direct mode with a timer (the
   * object is awake while it holds streams), hibernating mode by asking one Worker attached here to
   * call back (`presenceDue`, one request). Only a channel whose subscribers all sit on fan-out
   * objects (it stores their list already) uses the alarm.
   */
  private async wakeForPresence(at: number): Promise<void> {
    const inMs = at - Date.now();
    if (this.direct.size > 0) return this.direct.wakeAfter(inMs, () => void this.presence.due());
    const sockets = this.sockets.open();
    // One call-back per wait: ask again only if the Worker asked has gone.
    const asked = this.presenceCallback;
    if (asked?.at === at && sockets.includes(asked.socket)) return;
    const message = encodePresenceDue(inMs);
    for (const socket of sockets) {
      try {
        socket.send(message);
        this.presenceCallback = { at, socket };
        return;
      } catch {
        // Closing: try the next.
      }
    }
    if (this.fanouts.size === 0) return; // nobody to tell
    await this.schedule("presence", at);
  }

  private startRedisPolling(): void {
    if (this.redis?.start()) void this.schedule("redis", Date.now());
  }
}

function idsOf(events: readonly StoredEvent[]): string[] {
  return events.map((event) => String(event.id));
}

/** Cloudflare's location hints, from the region part of a fan-out object's name. */
const LOCATION_HINTS: readonly DurableObjectLocationHint[] = [
  "wnam",
  "enam",
  "sam",
  "weur",
  "eeur",
  "apac",
  "oc",
  "afr",
  "me",
];

function locationHintOf(region: string): DurableObjectLocationHint | null {
  return (LOCATION_HINTS as readonly string[]).includes(region) ? (region as DurableObjectLocationHint) : null;
}

/** The name the Worker addressed this object by; every channel object is addressed by name. */
function nameOf(ctx: DurableObjectState): string {
  const name = ctx.id.name;
  if (name === undefined) throw new Error("a channel object must be addressed by its channel's name (objectNamed)");
  return name;
}
