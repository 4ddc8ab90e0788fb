/**
 * `npm run dev:redis`: the relay with Redis ingestion, all local.
 * Starts redis-server (port 6390), the Upstash REST bridge (port 8079) and
 * `wrangler dev` (port 8787) wired together; Ctrl-C stops all three.
 * Ports: REDIS_PORT=… BRIDGE_PORT=… npm run dev:redis -- --port 9000
 * (the relay's port is wrangler's --port). Settings as `npm run dev`
 * (scripts/dev-vars.ts: your .dev.vars wins), plus the Upstash ones.
 *
 * Once the relay answers: redis-cli -p 6390 XADD sse:demo '*' data 'hello from Redis'
 */
import { spawn } from "node:child_process";
import { describeLocalVars, devVarFlags, readDevVars } from "./dev-vars.ts";
import { startBridge } from "./upstash-bridge.ts";
import { startRedisServer } from "./redis-server.ts";

const REDIS_PORT = Number(process.env.REDIS_PORT ?? 6390);
const BRIDGE_PORT = Number(process.env.BRIDGE_PORT ?? 8079);
const BRIDGE_TOKEN = "dev-redis-token";

const redis = await startRedisServer(REDIS_PORT);
const bridge = await startBridge({ redisUrl: redis.url, token: BRIDGE_TOKEN, port: BRIDGE_PORT });
console.log(`redis-server on ${redis.url}, Upstash REST bridge on ${bridge.url} (REDIS_PORT, BRIDGE_PORT change them)`);
console.log(describeLocalVars());

const userVars = readDevVars();
const wrangler = spawn(
  "wrangler",
  [
    "dev",
    ...devVarFlags(),
    ...["--var", `UPSTASH_REDIS_REST_URL:${bridge.url}`, "--var", `UPSTASH_REDIS_REST_TOKEN:${BRIDGE_TOKEN}`],
    // Every channel polls Redis locally, unless your .dev.vars says which.
    ...(userVars.REDIS_CHANNEL_PREFIXES === undefined ? ["--var", "REDIS_CHANNEL_PREFIXES:*"] : []),
    ...process.argv.slice(2),
  ],
  { stdio: "inherit", env: { ...process.env, WRANGLER_SEND_METRICS: "false" } },
);

let stopping = false;

// The hint comes once the relay answers, after wrangler's start-up output, so it does not scroll away.
const relayPort = portArgument(process.argv.slice(2)) ?? 8787;
void (async () => {
  for (let attempt = 0; attempt < 600 && !stopping; attempt++) {
    const ok = await fetch(`http://localhost:${relayPort}/healthz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) {
      console.log(
        [
          "",
          `  relay ready on http://localhost:${relayPort} with Redis ingestion. Try:`,
          `    curl -N http://localhost:${relayPort}/v1/channels/demo/events`,
          `    redis-cli -p ${REDIS_PORT} XADD ${userVars.REDIS_STREAM_PREFIX ?? "sse:"}demo '*' data 'hello from Redis'`,
          "",
        ].join("\n"),
      );
      return;
    }
    await new Promise((resolveWait) => setTimeout(resolveWait, 500));
  }
})();

function portArgument(args: readonly string[]): number | undefined {
  for (const [index, arg] of args.entries()) {
    if (arg === "--port") return Number(args[index + 1]);
    if (arg.startsWith("--port=")) return Number(arg.slice("--port=".length));
  }
  return undefined;
}

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
