/**
 * `npm run dev:redis`: the relay with Redis ingestion, all local.
 * Starts redis-server (port 6390), the Upstash REST bridge (port 8079) and
 * `wrangler dev` (port 8787) wired together; Ctrl-C stops all three.
 * Extra arguments reach wrangler, e.g. `npm run dev:redis -- --port 9000`.
 *
 * Then: redis-cli -p 6390 XADD sse:demo '*' data 'hello from Redis'
 */
import { spawn } from "node:child_process";
import { startBridge } from "./upstash-bridge.ts";
import { startRedisServer } from "./redis-server.ts";

const REDIS_PORT = Number(process.env.REDIS_PORT ?? 6390);
const BRIDGE_PORT = Number(process.env.BRIDGE_PORT ?? 8079);
const BRIDGE_TOKEN = "dev-redis-token";

const redis = await startRedisServer(REDIS_PORT);
const bridge = await startBridge({ redisUrl: redis.url, token: BRIDGE_TOKEN, port: BRIDGE_PORT });
console.log(`redis-server on ${redis.url}, Upstash REST bridge on ${bridge.url}`);
console.log(`try: redis-cli -p ${REDIS_PORT} XADD sse:demo '*' data 'hello from Redis'`);

const wrangler = spawn(
  "wrangler",
  [
    "dev",
    ...["--var", "PUBLISH_TOKENS:dev-token", "--var", "ALLOWED_ORIGINS:*", "--var", "DEMO_ENABLED:true"],
    ...["--var", "SUBSCRIBE_JWT_SECRET:dev-subscribe-secret-do-not-use-in-production"],
    ...["--var", `UPSTASH_REDIS_REST_URL:${bridge.url}`, "--var", `UPSTASH_REDIS_REST_TOKEN:${BRIDGE_TOKEN}`],
    ...["--var", "REDIS_CHANNEL_PREFIXES:*"],
    ...process.argv.slice(2),
  ],
  { stdio: "inherit", env: { ...process.env, WRANGLER_SEND_METRICS: "false" } },
);

let stopping = false;
async function stop(code: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  wrangler.kill("SIGTERM");
  await bridge.close();
  await redis.stop();
  process.exit(code);
}
process.on("SIGINT", () => void stop(0));
process.on("SIGTERM", () => void stop(0));
wrangler.on("exit", (code) => void stop(code ?? 0));
