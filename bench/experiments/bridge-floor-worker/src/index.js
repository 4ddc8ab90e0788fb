// @ts-nocheck -- a Worker (workerd types), not part of the Node-side bench
/**
 * The floor of hibernating delivery: the Worker holds each subscriber's SSE
 * stream and is fed by `ws.send` from a Durable Object that accepted its
 * WebSocket with the Hibernation API; nothing else (no storage, no ids
 * checked, no budgets, no heartbeats). Same routes as the relay. Its cost
 * per delivery is what workerd itself charges for this path; the relay's
 * hibernating mode can only add to it.
 */
import { DurableObject } from "cloudflare:workers";

const utf8 = new TextEncoder();

export class ChannelObject extends DurableObject {
  lastId = 0;

  async fetch() {
    const [client, server] = Object.values(new WebSocketPair());
    this.ctx.acceptWebSocket(server);
    return new Response(null, { status: 101, webSocket: client });
  }

  async publish(data) {
    this.lastId += 1;
    const frame = utf8.encode(`id: ${this.lastId}\ndata: ${data}\n\n`);
    for (const socket of this.ctx.getWebSockets()) socket.send(frame);
    return this.lastId;
  }

  async webSocketClose(socket, code) {
    socket.close(code === 1005 || code === 1006 ? 1000 : code, "bye");
  }
}

/** Bound by the harness's workerd config like the relay's; unused here. */
export class FanoutObject extends DurableObject {}

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/healthz") return new Response("ok");
    const match = /^\/v1\/channels\/([^/]+)\/events$/.exec(url.pathname);
    if (!match) return new Response("not found", { status: 404 });
    const stub = env.CHANNELS.get(env.CHANNELS.idFromName(match[1]));
    if (request.method === "POST") {
      return Response.json({ id: await stub.publish(await request.text()) }, { status: 201 });
    }
    const upgraded = await stub.fetch("https://channel/attach", { headers: { Upgrade: "websocket" } });
    const socket = upgraded.webSocket;
    socket.binaryType = "arraybuffer";
    let controller;
    const stream = new ReadableStream(
      {
        start: (c) => (controller = c),
        cancel: () => socket.close(1000, "gone"),
      },
      { highWaterMark: 0, size: (chunk) => chunk.byteLength },
    );
    socket.addEventListener("message", (event) => controller.enqueue(new Uint8Array(event.data)));
    socket.accept();
    controller.enqueue(utf8.encode(": connected\n\n"));
    return new Response(stream, { headers: { "Content-Type": "text/event-stream" } });
  },
};
