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
 * - `tickets()`: the tickets its open streams carry, with their client (src/channel/client-shares.ts);
 * - `presence(message)`: the channel's presence count, passed on to its sockets (presence channels only).
 *
 * What it tells the channel, one call at a time and in order (see `report`): the tickets of streams it
 * accepted, closed or refused (the channel counts each client's share), its count on presence channels,
 * and that it is empty when its last stream closes.
 */
import { DurableObject } from "cloudflare:workers";
import { configFromEnv } from "../config";
import { errorResponse } from "../error-response";
import type { Env } from "../env";
import { log } from "../log";
import { concatBytes } from "../sse/codec";
import { decodeBatch } from "./bridge-protocol";
import type { Ticketed, TicketReport } from "./client-shares";
import { CHANNEL_HEADER, CLIENT_HEADER, FANOUT_HEADER, REGION_HEADER, TICKET_HEADER } from "./headers";
import { tooManyStreams } from "./refusals";
import type { PushReceipt } from "./fanout-registry";
import { type SocketAttachment, SocketHub } from "./socket-hub";
import { presenceEnabled } from "./presence";

export interface FanoutCount {
  readonly subscribers: number;
  readonly stalled: number;
  readonly expired: number;
}

/** Recent batches a fan-out object keeps for its slow readers: memory, not storage; lost on hibernation. */
const RECENT_BYTES = 512 * 1024;

export class FanoutObject extends DurableObject<Env> {
  private readonly hub: SocketHub;
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
  /** Tickets accepted and released since the last report (see `report`). */
  private accepted: Ticketed[] = [];
  private released: string[] = [];
  /** Something changed since the last report was sent; the report loop in flight, if any. */
  private changed = false;
  private reporting: Promise<void> | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.hub = new SocketHub(ctx);
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
    const held = this.hub.size;
    const config = configFromEnv(this.env);
    const client = request.headers.get(CLIENT_HEADER);
    const ticket = request.headers.get(TICKET_HEADER);
    // The channel counts the client's share across every object (the ticket); this is a backstop.
    if (client !== null && this.hub.countClient(client) >= config.maxStreamsPerClient) {
      return this.refused(ticket, channel, name, tooManyStreams(config.maxStreamsPerClient));
    }
    if (held + this.attaching >= config.fanout.size) {
      const full = errorResponse(503, "fanout_full", "This fan-out object is full; ask the channel for another.");
      return this.refused(ticket, channel, name, full);
    }
    this.attaching += 1;
    try {
      if (held === 0) {
        // First subscriber: make sure the channel pushes here before the Worker waits for pushes.
        this.activation = Math.max(Date.now(), this.activation + 1);
        const stub = this.env.CHANNELS.get(this.env.CHANNELS.idFromName(channel));
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
    const accepted = this.hub.accept(request, attachment, { last: this.last, subscribers: this.hub.size + 1 });
    if (accepted.status !== 101) return this.refused(ticket, channel, name, accepted);
    if (client !== null && ticket !== null) this.accepted.push({ ticket, client });
    this.ctx.waitUntil(this.report(channel, name));
    return accepted;
  }

  /**
   * A refused attach: its ticket is released at once (the channel counted it when it sent the Worker
   * here), and an object left empty says so.
   */
  private refused(ticket: string | null, channel: string, name: string, response: Response): Response {
    if (ticket !== null) this.released.push(ticket);
    if (ticket !== null || this.hub.size === 0) this.ctx.waitUntil(this.report(channel, name));
    return response;
  }

  /** The tickets this object's open streams carry, with their client (the channel checks its count with them). */
  async tickets(): Promise<Ticketed[]> {
    const tickets: Ticketed[] = [];
    for (const socket of this.hub.sockets()) {
      const attachment = socket.deserializeAttachment() as SocketAttachment | null;
      if (attachment?.ticket !== undefined && attachment.client !== undefined)
        tickets.push({ ticket: attachment.ticket, client: attachment.client });
    }
    return tickets;
  }

  /** The channel's presence message, to every socket held here (outgoing messages are not billed). */
  async presence(message: string): Promise<void> {
    this.hub.broadcast(message);
  }

  /**
   * Tells the channel what changed: tickets accepted and released, the count on presence channels,
   * and "empty" when the last stream is gone. One call at a time, in order: changes made while one is
   * on its way go together in the next, so a burst of closes costs the channel a few calls, not one
   * each. Resolves when nothing is left to tell.
   */
  private report(channel: string, name: string): Promise<void> {
    this.changed = true;
    this.reporting ??= this.sendReports(channel, name).finally(() => {
      this.reporting = null;
    });
    return this.reporting;
  }

  private async sendReports(channel: string, name: string): Promise<void> {
    const stub = this.env.CHANNELS.get(this.env.CHANNELS.idFromName(channel));
    const presence = presenceEnabled(channel, configFromEnv(this.env).presence);
    while (this.changed) {
      this.changed = false;
      const tickets: TicketReport = { accepted: this.accepted, released: this.released };
      this.accepted = [];
      this.released = [];
      const some = tickets.accepted.length > 0 || tickets.released.length > 0;
      // Empty, and no attach on its way in (one that fails reports again, through `refused`).
      if (this.hub.size === 0 && this.attaching === 0) {
        // The channel forgets this object (its next first subscriber registers it again); nothing is stored here.
        // Its close counts go with it (the channel keeps them once this object is forgotten).
        const closed = { ...this.closedStreams };
        this.closedStreams.stalled = 0;
        this.closedStreams.expired = 0;
        await stub.fanoutEmptied(name, this.activation, closed, tickets).catch((error: unknown) => {
          log.warn("fan-out could not report itself empty", { channel, fanout: name, error });
        });
      } else if (presence) {
        this.presenceSeq = Math.max(this.presenceSeq + 1, Date.now());
        await stub.fanoutPresence(name, this.presenceSeq, this.hub.size, tickets).catch((error: unknown) => {
          log.warn("fan-out could not report its presence count", { channel, fanout: name, error });
        });
      } else if (some) {
        await stub.fanoutTickets(name, tickets).catch((error: unknown) => {
          log.warn("fan-out could not report its streams' tickets", { channel, fanout: name, error });
        });
      }
    }
  }

  async deliver(message: Uint8Array): Promise<PushReceipt> {
    const batch = decodeBatch(message);
    this.last = Math.max(this.last, batch.to);
    const sent = this.hub.broadcast(message);
    this.remember(batch.from, batch.to, batch.frames);
    // Attaches in progress count as subscribers: the channel must not forget an object someone is joining.
    return { subscribers: sent + this.attaching, activation: this.activation };
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
    return { subscribers: this.hub.size, ...this.closedStreams };
  }

  override async webSocketClose(socket: WebSocket, code: number): Promise<void> {
    const reason = this.hub.closed(socket, code);
    if (reason === "stalled" || reason === "expired") this.closedStreams[reason] += 1;
    const attachment = socket.deserializeAttachment() as SocketAttachment | null;
    if (!attachment?.fanout) return;
    if (attachment.ticket !== undefined) this.released.push(attachment.ticket);
    await this.report(attachment.channel, attachment.fanout);
  }

  override async webSocketError(socket: WebSocket): Promise<void> {
    await this.webSocketClose(socket, 1006);
  }
}
