// @ts-nocheck -- a Worker (workerd types), not part of the Node-side bench
/**
 * Minimal SSE fan-out from one Durable Object: the same routes as the relay
 * (GET/POST /v1/channels/<channel>/events), nothing else. Its cost per
 * delivery is what workerd itself charges; the relay can only add to it.
 */
import { DurableObject } from "cloudflare:workers";

const utf8 = new TextEncoder();

export class ChannelObject extends DurableObject {
  controllers = new Set();
  lastId = 0;

  async fetch() {
    const variant = this.env.VARIANT;
    let controller;
    const source = {
      start: (c) => (controller = c),
      cancel: () => this.controllers.delete(controller),
    };
    if (variant.includes("pull")) source.pull = () => {};
    const highWaterMark = variant.includes("hwm0") ? 0 : 262_144;
    const stream = new ReadableStream(source, { highWaterMark, size: (chunk) => chunk.byteLength });
    controller.enqueue(utf8.encode(": connected\n\n"));
    this.controllers.add(controller);
    return new Response(stream, { headers: { "Content-Type": "text/event-stream" } });
  }

  async publish(data) {
    this.lastId += 1;
    const frame = utf8.encode(`id: ${this.lastId}\ndata: ${data}\n\n`);
    for (const controller of this.controllers) controller.enqueue(frame);
    return this.lastId;
  }
}

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
    // Like the relay: the Worker forwards the subscription and re-wraps the object's response.
    const response = await stub.fetch("https://channel/subscribe", { signal: request.signal });
    return new Response(response.body, response);
  },
};
