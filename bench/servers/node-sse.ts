/**
 * The "write it yourself" baseline: a minimal SSE broadcaster on node:http,
 * the kind of server people write for this in an afternoon (like the
 * asyncio one). No storage, no replay, no auth: subscribers GET
 * /sub/<channel>, a publisher POSTs the event's data to /pub/<channel>, and
 * every open response gets the frame, encoded once.
 *
 *   node bench/servers/node-sse.ts --port 8080 [--host 127.0.0.1]
 */
import { createServer, type ServerResponse } from "node:http";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: { port: { type: "string", default: "8080" }, host: { type: "string", default: "127.0.0.1" } },
});

const channels = new Map<string, Set<ServerResponse>>();
let lastId = 0;

const server = createServer((req, res) => {
  const [, kind, channel] = /^\/(sub|pub)\/([\w-]{1,64})$/.exec(req.url ?? "") ?? [];
  if (req.url === "/healthz") {
    res.writeHead(200, { "Content-Type": "application/json" }).end('{"ok":true}');
  } else if (kind === "sub" && req.method === "GET" && channel) {
    res.writeHead(200, { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" });
    res.write(": connected\n\n");
    let members = channels.get(channel);
    if (!members) {
      members = new Set();
      channels.set(channel, members);
    }
    members.add(res);
    res.on("close", () => members.delete(res));
  } else if (kind === "pub" && req.method === "POST" && channel) {
    const parts: Buffer[] = [];
    req.on("data", (part: Buffer) => parts.push(part));
    req.on("end", () => {
      const data = Buffer.concat(parts).toString("utf8");
      lastId += 1;
      const lines = data
        .split(/\r\n|\r|\n/)
        .map((line) => `data: ${line}\n`)
        .join("");
      const frame = Buffer.from(`id: ${lastId}\n${lines}\n`);
      const members = channels.get(channel);
      for (const member of members ?? []) member.write(frame);
      res
        .writeHead(201, { "Content-Type": "application/json" })
        .end(JSON.stringify({ id: String(lastId), subscribers: members?.size ?? 0 }));
    });
  } else {
    res.writeHead(404).end();
  }
});

// Streams stay open indefinitely; keep-alive publishers reuse their sockets.
server.requestTimeout = 0;
server.keepAliveTimeout = 60_000;
// Comments keep idle streams (and proxies in front of them) alive.
setInterval(() => {
  for (const members of channels.values()) for (const member of members) member.write(": heartbeat\n\n");
}, 15_000).unref();

server.listen(Number(values.port), values.host, () =>
  console.log(`node-sse listening on http://${values.host}:${values.port}`),
);
for (const signal of ["SIGTERM", "SIGINT"] as const) process.on(signal, () => process.exit(0));
