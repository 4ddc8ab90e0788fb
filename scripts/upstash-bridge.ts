/**
 * Development tool: serves the Upstash Redis REST protocol on top of a real
 * redis-server, so the relay's @upstash/redis client can run locally and in
 * tests without an Upstash account (Upstash ships no local emulator).
 *
 * The protocol, as @upstash/redis speaks it:
 * - `POST /` with a JSON array `["XRANGE", "key", "-", "+"]` → `{"result": …}`
 *   or `{"error": "…"}` with status 400;
 * - `POST /pipeline` and `POST /multi-exec` with an array of commands → an
 *   array of `{"result"}` / `{"error"}` (multi-exec runs them in MULTI/EXEC);
 * - `Authorization: Bearer <token>` on every request (401 otherwise);
 * - with `Upstash-Encoding: base64`, every string in a result is base64 of its
 *   bytes; numbers, nulls and nesting are kept.
 *
 * Run: node scripts/upstash-bridge.ts --redis redis://127.0.0.1:6379 --port 8079 --token dev-redis-token
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Redis } from "ioredis";

export interface BridgeOptions {
  /** redis://host:port of the real server. */
  readonly redisUrl: string;
  /** Bearer token clients must send. */
  readonly token: string;
  /** 0 picks a free port. */
  readonly port?: number;
  readonly host?: string;
}

export interface Bridge {
  readonly url: string;
  readonly port: number;
  /** Requests answered so far. */
  readonly requests: number;
  /** Commands run so far on `key` (tests use it to see that idle channels cost nothing). */
  commandsOn(key: string): number;
  /** Delays every answer by `ms` from now on, to play a slow Upstash (0: none). */
  setLatency(ms: number): void;
  close(): Promise<void>;
}

type Reply = Buffer | number | null | Reply[];
type Encoded = string | number | null | Encoded[];

const MAX_BODY_BYTES = 10 * 1024 * 1024;

export async function startBridge(options: BridgeOptions): Promise<Bridge> {
  const redis = new Redis(options.redisUrl, {
    lazyConnect: true,
    // Fail fast when Redis is down, like Upstash answering an error, instead of queueing forever.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: () => 200,
  });
  redis.on("error", () => {}); // reported per request instead
  await redis.connect().catch(() => {});

  let requests = 0;
  let latencyMs = 0;
  const perKey = new Map<string, number>();
  const record = (command: string[]) => {
    const key = command[1];
    if (key !== undefined) perKey.set(key, (perKey.get(key) ?? 0) + 1);
  };
  const server: Server = createServer(async (request, response) => {
    requests += 1;
    if (latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, latencyMs));
    handle(redis, options.token, request, response, record).catch((error: unknown) => {
      send(response, 500, { error: `bridge failure: ${String(error)}` });
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? "127.0.0.1"}:${port}`,
    port,
    get requests() {
      return requests;
    },
    commandsOn: (key) => perKey.get(key) ?? 0,
    setLatency: (ms) => {
      latencyMs = ms;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      redis.disconnect();
    },
  };
}

async function handle(
  redis: Redis,
  token: string,
  request: IncomingMessage,
  response: ServerResponse,
  record: (command: string[]) => void,
): Promise<void> {
  if (request.headers.authorization !== `Bearer ${token}`) {
    send(response, 401, { error: "Unauthorized" });
    return;
  }
  if (request.method !== "POST") {
    send(response, 405, { error: "Only POST is supported" });
    return;
  }
  const body = await readBody(request);
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    send(response, 400, { error: "ERR failed to parse command" });
    return;
  }
  const base64 = String(request.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";
  const path = new URL(request.url ?? "/", "http://bridge").pathname.replace(/\/+$/, "");

  if (path === "" || path === "/") {
    const command = toCommand(parsed);
    if (!command) return send(response, 400, { error: "ERR command must be a non-empty JSON array" });
    record(command);
    try {
      send(response, 200, { result: encode(await run(redis, command), base64) });
    } catch (error) {
      send(response, 400, { error: errorText(error) });
    }
    return;
  }
  if (path === "/pipeline" || path === "/multi-exec") {
    const commands = Array.isArray(parsed) ? parsed.map(toCommand) : [];
    if (commands.length === 0 || commands.some((command) => command === null)) {
      return send(response, 400, { error: "ERR body must be a JSON array of commands" });
    }
    for (const command of commands as string[][]) record(command);
    const results = await runMany(redis, commands as string[][], path === "/multi-exec");
    send(
      response,
      200,
      results.map((result) => ("error" in result ? result : { result: encode(result.result, base64) })),
    );
    return;
  }
  send(response, 404, { error: `unknown path ${path}` });
}

async function run(redis: Redis, [name, ...args]: string[]): Promise<Reply> {
  return (await redis.callBuffer(name!, ...args)) as Reply;
}

async function runMany(
  redis: Redis,
  commands: string[][],
  transaction: boolean,
): Promise<({ result: Reply } | { error: string })[]> {
  if (!transaction) {
    const results: ({ result: Reply } | { error: string })[] = [];
    for (const command of commands) {
      try {
        results.push({ result: await run(redis, command) });
      } catch (error) {
        results.push({ error: errorText(error) });
      }
    }
    return results;
  }
  const multi = redis.multi();
  for (const [name, ...args] of commands) multi.callBuffer(name!, ...args);
  try {
    const replies = (await multi.exec()) ?? [];
    return replies.map(([error, result]) => (error ? { error: errorText(error) } : { result: result as Reply }));
  } catch (error) {
    return commands.map(() => ({ error: errorText(error) }));
  }
}

function toCommand(value: unknown): string[] | null {
  if (!Array.isArray(value) || value.length === 0) return null;
  return value.map((part) => (typeof part === "string" ? part : JSON.stringify(part)));
}

function encode(reply: Reply, base64: boolean): Encoded {
  if (reply === null || typeof reply === "number") return reply;
  if (Array.isArray(reply)) return reply.map((item) => encode(item, base64));
  return base64 ? reply.toString("base64") : reply.toString("utf8");
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function send(response: ServerResponse, status: number, body: unknown): void {
  if (response.headersSent) return;
  response.writeHead(status, { "Content-Type": "application/json" });
  response.end(JSON.stringify(body));
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error("body too large"));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] ? process.argv[index + 1]! : fallback;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const bridge = await startBridge({
    redisUrl: argument("redis", "redis://127.0.0.1:6379"),
    token: argument("token", "dev-redis-token"),
    port: Number(argument("port", "8079")),
  });
  console.log(`Upstash REST bridge on ${bridge.url} → ${argument("redis", "redis://127.0.0.1:6379")}`);
}
