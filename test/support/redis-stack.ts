/**
 * A real redis-server, the Upstash REST bridge over it, and a plain Redis
 * client (ioredis) for writing to streams the way a backend would.
 */
import { Redis } from "ioredis";
import { startBridge, type Bridge } from "../../scripts/upstash-bridge";
import { startRedisServer, type RedisServer } from "../../scripts/redis-server";
import { freePort } from "../../scripts/ports";

const BRIDGE_TOKEN = "bridge-test-token";

export interface RedisStack {
  server: RedisServer;
  bridge: Bridge;
  readonly bridgePort: number;
  /** A plain client straight to redis-server (not through the relay or the bridge). */
  client: Redis;
  /** Relay variables pointing at the bridge. */
  readonly relayVars: Record<string, string>;
  stopBridge(): Promise<void>;
  startBridge(): Promise<void>;
  stopRedis(): Promise<void>;
  startRedis(): Promise<void>;
  dispose(): Promise<void>;
}

export async function startRedisStack(): Promise<RedisStack> {
  const redisPort = await freePort();
  const bridgePort = await freePort();
  const server = await startRedisServer(redisPort);
  const bridge = await startBridge({ redisUrl: server.url, token: BRIDGE_TOKEN, port: bridgePort });
  const client = new Redis(server.url, { maxRetriesPerRequest: 3 });
  client.on("error", () => {});
  const stack: RedisStack = {
    server,
    bridge,
    bridgePort,
    client,
    relayVars: {
      UPSTASH_REDIS_REST_URL: bridge.url,
      UPSTASH_REDIS_REST_TOKEN: BRIDGE_TOKEN,
      REDIS_CHANNEL_PREFIXES: "*",
    },
    stopBridge: () => stack.bridge.close(),
    startBridge: async () => {
      stack.bridge = await startBridge({ redisUrl: stack.server.url, token: BRIDGE_TOKEN, port: bridgePort });
    },
    stopRedis: () => stack.server.stop(),
    startRedis: async () => {
      stack.server = await startRedisServer(redisPort);
    },
    dispose: async () => {
      client.disconnect();
      await stack.bridge.close().catch(() => {});
      await stack.server.stop();
    },
  };
  return stack;
}
