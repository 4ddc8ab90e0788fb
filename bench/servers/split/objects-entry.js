// @ts-nocheck -- runs inside workerd next to the relay's bundle (./index.js), which exists only at bench time.
/**
 * The objects' process of the split-process relay (bench/systems/relay-split.ts):
 * the relay's Durable Object classes, and a forwarding entrypoint that lets the
 * Worker in the other workerd process reach them over a real socket. workerd
 * cannot bind a Durable Object namespace across processes, so the Worker's
 * process sends each stub call here as HTTP: `fetch` calls (attach, direct
 * subscribe) are forwarded as they are (WebSocket upgrades and streamed bodies
 * included; workerd pumps those natively, no JavaScript per message), RPC calls
 * (publish, readPage, stats) as JSON with byte arrays in base64.
 */
import { decode, encode } from "./rpc-json.js";

export { ChannelObject, FanoutObject } from "./index.js";

export default {
  async fetch(request, env) {
    const namespace = env[request.headers.get("X-Bench-Namespace")];
    const name = request.headers.get("X-Bench-Object");
    if (!namespace || name === null) return new Response("no such object", { status: 404 });
    const hint = request.headers.get("X-Bench-Location-Hint");
    const stub = namespace.get(namespace.idFromName(name), hint ? { locationHint: hint } : {});
    const method = request.headers.get("X-Bench-Method");
    if (method === "fetch") {
      const headers = new Headers(request.headers);
      for (const header of [
        "X-Bench-Namespace",
        "X-Bench-Object",
        "X-Bench-Method",
        "X-Bench-Location-Hint",
        "X-Bench-Url",
      ])
        headers.delete(header);
      return stub.fetch(
        new Request(request.headers.get("X-Bench-Url"), { method: request.method, headers, body: request.body }),
      );
    }
    const args = decode(await request.text());
    try {
      return new Response(encode({ value: await stub[method](...args) }));
    } catch (error) {
      return new Response(encode({ error: String(error) }), { status: 500 });
    }
  },
};
