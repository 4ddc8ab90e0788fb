/**
 * The hibernatable side of the bridge, shared by the channel object and the
 * fan-out objects: Workers holding browsers' SSE streams attach over a
 * WebSocket the object accepts with `ctx.acceptWebSocket`, so the object
 * can leave memory between events while every subscriber stays connected.
 *
 * Nothing here lives only in memory: sockets come back from
 * `ctx.getWebSockets()` after hibernation, each with its attachment. No
 * timers: heartbeats, lifetimes and stall detection belong to the Worker.
 */
import type { CloseReason } from "../stream/close-reasons";
import { errorResponse } from "../error-response";
import { BRIDGE_PROTOCOL, closeReason, type Hello } from "../protocol/bridge-protocol";

/** Kept with each socket across hibernation (serializeAttachment, at most 16 KB). */
export interface SocketAttachment {
  readonly channel: string;
  /** The fan-out object's own name, on sockets a fan-out object holds. */
  readonly fanout?: string;
  /** Whose share the stream counts against (a hash), when known. */
  readonly client?: string;
  /** On a fan-out object's sockets: its activation when the socket was accepted (survives hibernation). */
  readonly activation?: number;
  /** On a fan-out object's sockets: the channel's ticket for the stream (src/channel/client-shares.ts). */
  readonly ticket?: string;
}

const OPEN = 1;

/** The sockets an object holds for Workers' streams (the Mercure hub is another thing: src/routes/mercure-hub.ts). */
export class BridgeSockets {
  constructor(private readonly ctx: DurableObjectState) {}

  /** Open sockets, including those restored after hibernation. */
  open(): WebSocket[] {
    return this.ctx.getWebSockets().filter((socket) => socket.readyState === OPEN);
  }

  get size(): number {
    return this.open().length;
  }

  /**
   * Open sockets of one client: by the tag each socket is accepted with (the runtime finds them; a
   * channel object past FANOUT_THRESHOLD counts on every attach, and holds that many sockets).
   */
  countClient(client: string): number {
    return this.ctx.getWebSockets(clientTag(client)).filter((socket) => socket.readyState === OPEN).length;
  }

  /**
   * Accepts a Worker's attach request, or refuses a protocol version this object does not speak.
   * `first`: a batch sent right after the hello (the first page of a resume).
   */
  accept(request: Request, attachment: SocketAttachment, hello: Omit<Hello, "t">, first?: Uint8Array): Response {
    const offered = (request.headers.get("Sec-WebSocket-Protocol") ?? "").split(",").map((value) => value.trim());
    if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket" || !offered.includes(BRIDGE_PROTOCOL)) {
      return errorResponse(400, "unsupported_protocol", `This object speaks ${BRIDGE_PROTOCOL}.`, {
        "X-Relay-Protocols": BRIDGE_PROTOCOL,
      });
    }
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(server, attachment.client === undefined ? [] : [clientTag(attachment.client)]);
    server.serializeAttachment(attachment);
    const message: Hello = { t: "hello", ...hello };
    server.send(JSON.stringify(message));
    if (first !== undefined) server.send(first);
    return new Response(null, {
      status: 101,
      webSocket: client,
      headers: { "Sec-WebSocket-Protocol": BRIDGE_PROTOCOL },
    });
  }

  /**
   * Sends one message to every attached Worker (outgoing messages are not billed); the message is
   * built only if anyone is attached. Returns how many it went to. Text messages are presence.
   */
  broadcast(message: Uint8Array | string | (() => Uint8Array)): number {
    const sockets = this.open();
    if (sockets.length === 0) return 0;
    const bytes = typeof message === "function" ? message() : message;
    let sent = 0;
    for (const socket of sockets) {
      try {
        socket.send(bytes);
        sent += 1;
      } catch {
        // Closing already: its Worker re-dials and fills the gap from history.
      }
    }
    return sent;
  }

  /** Completes a close the Worker started; returns why it closed. */
  closed(socket: WebSocket, code: number): CloseReason {
    try {
      socket.close(code === 1005 || code === 1006 ? 1000 : code, "bye");
    } catch {
      // Already closed.
    }
    return closeReason(code);
  }
}

/** A socket's tag naming its client (a hash, src/http/client-key.ts: far below the 256-character limit). */
function clientTag(client: string): string {
  return `client:${client}`;
}
