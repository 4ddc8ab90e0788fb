/**
 * A fan-out object: holds up to FANOUT_SIZE Workers' bridge sockets for one
 * hot channel and forwards each batch the channel object pushes to all of
 * them. It stores nothing; it hibernates between pushes like the channel.
 *
 * Public surface (the Worker and the channel object only):
 * - `fetch(attach)`: a Worker's hibernatable bridge socket;
 * - `deliver(batch)`: a push from the channel object; returns a receipt;
 * - `readRecent(after, maxBytes)`: the batches it pushed lately, so its Workers' slow readers
 *   catch up here and not at the channel object (in memory only, RECENT_BYTES at most);
 * - `count()`: subscribers held, for the channel's stats;
 * - `tickets()`: the channel's tickets its open streams carry, and the closes it has not reported yet
 *   (the channel counts each client's share across its objects: src/channel/client-shares.ts; this
 *   object tells it what happened to tickets on its receipts, presence counts and "emptied");
 * - `presence(message)`: the channel's presence count, passed on to its sockets (presence channels only,
 *   which also report their count to the channel when a stream opens or closes).
 */
import { DurableObject } from "cloudflare:workers";
import { configFromEnv } from "../config";
import { errorResponse } from "../error-response";
import type { Env } from "../env";
import { log } from "../log";
import { concatBytes } from "../sse/codec";
import { decodeBatch } from "../protocol/bridge-protocol";
import type { OpenTickets, Ticketed, TicketReport } from "../channel/client-shares";
import { CHANNEL_HEADER, CLIENT_HEADER, FANOUT_HEADER, REGION_HEADER, TICKET_HEADER } from "../protocol/headers";
import { tooManyStreams } from "../protocol/refusals";
import type { PushReceipt } from "../channel/fanout-registry";
import { type SocketAttachment, BridgeSockets } from "./bridge-sockets";
import { presenceEnabled } from "../channel/presence";
import { objectNamed } from "../protocol/stubs";

export interface FanoutCount {
  readonly subscribers: number;
  readonly stalled: number;
  readonly expired: number;
}

/** Recent batches a fan-out object keeps for its slow readers: memory, not storage; lost on hibernation. */
const RECENT_BYTES = 512 * 1024;

export class FanoutObject extends DurableObject<Env> {
  private readonly sockets: BridgeSockets;
  /** Highest id pushed here since this instance started (0 after hibernation: Workers know better). */
  private last = 0;
  /**
   * When this object last went from no subscribers to some (the channel orders registrations by it).
   * Kept in every socket's attachment too, so it survives hibernation.
   */
  private activation = 0;
  /** Attaches between their capacity check and their accept (awaiting the channel's registration). */
  private attaching = 0;
  /** The latest contiguous batches pushed here, oldest first, at most RECENT_BYTES of frames. */
  private readonly recent: { readonly from: number; readonly to: number; readonly frames: Uint8Array }[] = [];
  private recentBytes = 0;
  private readonly closedStreams: { stalled: number; expired: number } = { stalled: 0, expired: 0 };
  /** Orders this object's presence reports to the channel (time-based, so it keeps rising across hibernation). */
  private presenceSeq = 0;
  /**
   * Tickets accepted and released since the channel last heard (memory only, each list at most
   * FANOUT_SIZE: what is lost here the channel learns when it checks, see src/channel/client-shares.ts).
   */
  private accepted: Ticketed[] = [];
  private released: string[] = [];

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.sockets = new BridgeSockets(ctx);
    for (const socket of ctx.getWebSockets()) {
      const attachment = socket.deserializeAttachment() as SocketAttachment | null;
      this.activation = Math.max(this.activation, attachment?.activation ?? 0);
    }
  }

  override async fetch(request: Request): Promise<Response> {
    const channel = request.headers.get(CHANNEL_HEADER);
    const name = request.headers.get(FANOUT_HEADER);
    if (channel === null || name === null || !this.env.FANOUTS.idFromName(name).equals(this.ctx.id)) {
      return errorResponse(400, "bad_attach", "A fan-out object is attached to by the relay's Worker only.");
    }
    const held = this.sockets.size;
    const config = configFromEnv(this.env);
    const client = request.headers.get(CLIENT_HEADER);
    const ticket = client === null ? null : request.headers.get(TICKET_HEADER);
    // The channel counts the client's share across all its objects (the ticket); this is a backstop.
    if (client !== null && this.sockets.countClient(client) >= config.maxStreamsPerClient) {
      this.release(ticket, config.fanout.size);
      return tooManyStreams(config.maxStreamsPerClient);
    }
    if (held + this.attaching >= config.fanout.size) {
      this.release(ticket, config.fanout.size);
      return errorResponse(503, "fanout_full", "This fan-out object is full; ask the channel for another.");
    }
    this.attaching += 1;
    try {
      if (held === 0) {
        // First subscriber: make sure the channel pushes here before the Worker waits for pushes.
        this.activation = Math.max(Date.now(), this.activation + 1);
        const stub = objectNamed(this.env.CHANNELS, channel);
        await stub.ensureFanout(name, request.headers.get(REGION_HEADER) ?? "any", this.activation);
      }
    } finally {
      this.attaching -= 1;
    }
    const attachment = {
      channel,
      fanout: name,
      activation: this.activation,
      ...(client === null ? {} : { client }),
      ...(client === null || ticket === null ? {} : { ticket }),
    };
    const accepted = this.sockets.accept(request, attachment, { last: this.last, subscribers: this.sockets.size + 1 });
    if (accepted.status !== 101) {
      this.release(ticket, config.fanout.size);
      return accepted;
    }
    if (client !== null && ticket !== null) keep(this.accepted, { ticket, client }, config.fanout.size);
    this.ctx.waitUntil(this.reportPresence(channel, name));
    return accepted;
  }

  /** The channel's check: the tickets open here (with their client), and the closes not reported yet. */
  async tickets(): Promise<OpenTickets> {
    const open: Ticketed[] = [];
    for (const socket of this.sockets.open()) {
      const attachment = socket.deserializeAttachment() as SocketAttachment | null;
      if (attachment?.ticket !== undefined && attachment.client !== undefined)
        open.push({ ticket: attachment.ticket, client: attachment.client });
    }
    const released = this.released;
    this.released = [];
    this.accepted = []; // the open ones are in the answer
    return { open, released };
  }

  private release(ticket: string | null, max: number): void {
    if (ticket !== null) keep(this.released, ticket, max);
  }

  /** What happened to tickets since the channel last heard, for a report it is sent anyway; undefined: nothing. */
  private ticketReport(): TicketReport | undefined {
    if (this.accepted.length === 0 && this.released.length === 0) return undefined;
    const report = { accepted: this.accepted, released: this.released };
    this.accepted = [];
    this.released = [];
    return report;
  }

  /** The channel's presence message, to every socket held here (outgoing messages are not billed). */
  async presence(message: string): Promise<void> {
    this.sockets.broadcast(message);
  }

  /** On presence channels: tells the channel how many streams this object holds now. */
  private async reportPresence(channel: string, name: string): Promise<void> {
    if (!presenceEnabled(channel, configFromEnv(this.env).presence)) return;
    this.presenceSeq = Math.max(this.presenceSeq + 1, Date.now());
    const stub = objectNamed(this.env.CHANNELS, channel);
    await stub
      .fanoutPresence(name, this.presenceSeq, this.sockets.size, this.ticketReport())
      .catch((error: unknown) => {
        log.warn("fan-out could not report its presence count", { channel, fanout: name, error });
      });
  }

  async deliver(message: Uint8Array): Promise<PushReceipt> {
    const batch = decodeBatch(message);
    this.last = Math.max(this.last, batch.to);
    const sent = this.sockets.broadcast(message);
    this.remember(batch.from, batch.to, batch.frames);
    // Attaches in progress count as subscribers: the channel must not forget an object someone is joining.
    const tickets = this.ticketReport();
    return { subscribers: sent + this.attaching, activation: this.activation, ...(tickets ? { tickets } : {}) };
  }

  /**
   * Batches after `after`, whole, at most about `maxBytes` (at least one), if this object still has
   * them from exactly there; null otherwise (the Worker then reads the channel's history).
   */
  async readRecent(after: number, maxBytes: number): Promise<{ bytes: Uint8Array; cursor: number } | null> {
    const start = this.recent.findIndex((batch) => batch.from === after);
    if (start < 0) return null;
    const chunks: Uint8Array[] = [];
    let size = 0;
    let cursor = after;
    for (const batch of this.recent.slice(start)) {
      if (chunks.length > 0 && size + batch.frames.byteLength > maxBytes) break;
      chunks.push(batch.frames);
      size += batch.frames.byteLength;
      cursor = batch.to;
    }
    return { bytes: concatBytes(chunks), cursor };
  }

  private remember(from: number, to: number, frames: Uint8Array): void {
    if (frames.byteLength === 0) return; // a tick: nothing to keep
    const tail = this.recent[this.recent.length - 1];
    if (tail && tail.to !== from) {
      // Not contiguous with what is kept (a lost push, a restart): start again from this batch.
      this.recent.length = 0;
      this.recentBytes = 0;
    }
    this.recent.push({ from, to, frames: frames.slice() });
    this.recentBytes += frames.byteLength;
    while (this.recent.length > 1 && this.recentBytes > RECENT_BYTES)
      this.recentBytes -= this.recent.shift()!.frames.byteLength;
  }

  /** Subscribers held, and streams the Workers ended as stalled or expired since this instance started. */
  async count(): Promise<FanoutCount> {
    return { subscribers: this.sockets.size, ...this.closedStreams };
  }

  override async webSocketClose(socket: WebSocket, code: number): Promise<void> {
    const reason = this.sockets.closed(socket, code);
    if (reason === "stalled" || reason === "expired") this.closedStreams[reason] += 1;
    const attachment = socket.deserializeAttachment() as SocketAttachment | null;
    if (!attachment?.fanout) return;
    if (attachment.ticket !== undefined) keep(this.released, attachment.ticket, configFromEnv(this.env).fanout.size);
    if (this.sockets.size > 0) return this.reportPresence(attachment.channel, attachment.fanout);
    // The channel forgets this object (its next first subscriber registers it again); nothing is stored here.
    const stub = objectNamed(this.env.CHANNELS, attachment.channel);
    // Its close counts go with it (the channel keeps them once this object is forgotten).
    const closed = { ...this.closedStreams };
    this.closedStreams.stalled = 0;
    this.closedStreams.expired = 0;
    await stub
      .fanoutEmptied(attachment.fanout, this.activation, closed, this.ticketReport())
      .catch((error: unknown) => {
        log.warn("fan-out could not report itself empty", {
          channel: attachment.channel,
          fanout: attachment.fanout,
          error,
        });
      });
  }

  override async webSocketError(socket: WebSocket): Promise<void> {
    await this.webSocketClose(socket, 1006);
  }
}

/** Appends to a list kept at most `max` long (the oldest half goes: a check recovers what it said). */
function keep<T>(list: T[], item: T, max: number): void {
  if (list.length >= max) list.splice(0, Math.ceil(list.length / 2));
  list.push(item);
}
