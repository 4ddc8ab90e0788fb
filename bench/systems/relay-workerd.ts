/**
 * The relay as production runs it: the Worker bundle that `wrangler deploy
 * --dry-run` builds (exactly what would be uploaded), served by one workerd
 * process with its Durable Objects (ChannelObject on local SQLite storage,
 * FanoutObject). No wrangler dev proxy, no Miniflare entry worker in front.
 *
 * One definition per delivery mode (relayModes): the same bundle, started
 * with different [vars] or subscribing to a differently named channel, so
 * the modes run side by side as separate systems in one bench run.
 *
 * BENCH_RELAY_DIR may point at another checkout (e.g. a copy with a change
 * under trial) to bundle from there instead; BENCH_WORKERD_V8_FLAGS passes
 * V8 flags (e.g. --perf-basic-prof) for profiling.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { run } from "../lib/exec.ts";
import { freePort, startHealthyServer } from "../lib/server-process.ts";
import type { ChannelStatsReading, RunningSystem, StartContext, SystemDefinition } from "./types.ts";
import { readWorkerSettings } from "./wrangler-config.ts";

export const REPO_ROOT = resolve(import.meta.dirname, "../..");
export const RELAY_SOURCE = resolve(process.env.BENCH_RELAY_DIR ?? REPO_ROOT);
export const WORKERD = join(REPO_ROOT, "node_modules/workerd/bin/workerd");
export const WRANGLER = join(REPO_ROOT, "node_modules/wrangler/bin/wrangler.js");
const TEMPLATE = join(import.meta.dirname, "../servers/relay.capnp");
const BENCH_TOKEN = "bench-token";

/** The relay's API, the same however it is run; `prefix` names the channel (DIRECT_CHANNEL_PREFIXES picks the mode). */
export function relayRoutes(prefix = ""): Pick<RunningSystem, "subscribePath" | "publishPath" | "publishHeaders"> {
  return {
    subscribePath: (channel) => `/v1/channels/${prefix}${channel}/events`,
    publishPath: (channel) => `/v1/channels/${prefix}${channel}/events`,
    publishHeaders: { Authorization: `Bearer ${BENCH_TOKEN}` },
  };
}
export const RELAY_ROUTES = relayRoutes();

/**
 * The raw-TCP subscribers never reconnect, so a stream the relay ends on
 * purpose would count as lost events: STREAM_CPU_BUDGET_MS (Free-plan-safe
 * default 5 ms, about 80 deliveries) is raised to its maximum in every mode.
 */
export const BENCH_VARS: Readonly<Record<string, string>> = {
  PUBLISH_TOKENS: BENCH_TOKEN,
  STREAM_CPU_BUDGET_MS: "300000",
};

/** Prefix that makes a channel direct-mode in the direct system (DIRECT_CHANNEL_PREFIXES). */
const DIRECT_PREFIX = "direct-";

export interface FanoutShape {
  /** FANOUT_THRESHOLD: subscribers the channel object holds itself before fan-out objects take new ones. */
  readonly threshold: number;
  /** FANOUT_SIZE: subscribers per fan-out object. */
  readonly size: number;
}

/** One delivery mode of the relay as a system of its own. */
export interface RelayMode {
  readonly id: string;
  readonly label: string;
  readonly vars: Readonly<Record<string, string>>;
  readonly channelPrefix: string;
  readonly role: string;
  /** Other subscribe/publish routes than a channel's (multi-channel streams, the Mercure hub). */
  readonly routes?: Pick<RunningSystem, "subscribePath" | "publishPath" | "publishHeaders" | "publishEncoding">;
  /** The relay's channel stats name `channel` (false: the subscribers are not one channel's, e.g. the hub's). */
  readonly channelStats?: boolean;
}

/**
 * The three delivery modes: hibernating (the default; every subscriber on
 * the channel object, so FANOUT_THRESHOLD is raised past N), direct (the
 * channel object holds the SSE streams), and hibernating with fan-out
 * objects of `fanout.size` past `fanout.threshold`.
 */
export function relayModeList(fanout: FanoutShape): RelayMode[] {
  return [
    {
      id: "relay",
      label: "Relay, hibernating (workerd)",
      vars: { FANOUT_THRESHOLD: "100000" },
      channelPrefix: "",
      role: "workerd (Worker + channel object)",
    },
    {
      id: "relay-direct",
      label: "Relay, direct (workerd)",
      vars: { DIRECT_CHANNEL_PREFIXES: DIRECT_PREFIX },
      channelPrefix: DIRECT_PREFIX,
      role: "workerd (Worker + channel object)",
    },
    {
      id: "relay-fanout",
      label: `Relay, hibernating + fan-out ${fanout.threshold}/${fanout.size} (workerd)`,
      vars: { FANOUT_THRESHOLD: String(fanout.threshold), FANOUT_SIZE: String(fanout.size) },
      channelPrefix: "",
      role: "workerd (Worker + channel and fan-out objects)",
    },
  ];
}

/** Each delivery mode as a system, all from one bundle. */
export function relayModes(bundleDir: string, fanout: FanoutShape): SystemDefinition[] {
  return relayModeList(fanout).map((mode) => relayWorkerd(bundleDir, mode));
}

/** The workerd config's [vars] for a mode: wrangler.toml's, the bench's, the mode's. */
export function varsFor(mode: RelayMode): string {
  const settings = readWorkerSettings(join(RELAY_SOURCE, "wrangler.toml"));
  const vars: Record<string, string> = { ...settings.vars, ...BENCH_VARS, ...mode.vars };
  return Object.entries(vars)
    .map(([name, value]) => `    (name = ${JSON.stringify(name)}, text = ${JSON.stringify(value)}),`)
    .join("\n");
}

let bundle: Promise<string> | undefined;

/** Bundles the Worker once per bench run; returns the path of index.js. */
export function bundleWorker(outDir: string): Promise<string> {
  bundle ??= (async () => {
    await run(process.execPath, [WRANGLER, "deploy", "--dry-run", "--env", "", "--outdir", outDir], {
      cwd: RELAY_SOURCE,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true", NO_COLOR: "1" },
    });
    return join(outDir, "index.js");
  })();
  return bundle;
}

/** Extra V8 flags for profiling runs, space-separated in BENCH_WORKERD_V8_FLAGS. */
function v8Flags(): string[] {
  return (process.env.BENCH_WORKERD_V8_FLAGS ?? "").split(" ").filter((flag) => flag !== "");
}

export function relayWorkerd(bundleDir: string, mode: RelayMode): SystemDefinition {
  return {
    id: mode.id,
    label: mode.label,
    check: async () => {
      await run(WORKERD, ["--version"]);
      await bundleWorker(bundleDir);
    },
    start: async (context: StartContext): Promise<RunningSystem> => {
      const port = await freePort();
      const storage = join(context.workDir, "storage");
      mkdirSync(storage, { recursive: true });
      copyFileSync(await bundleWorker(bundleDir), join(context.workDir, "index.js"));
      const settings = readWorkerSettings(join(RELAY_SOURCE, "wrangler.toml"));
      const config = readFileSync(TEMPLATE, "utf8")
        .replaceAll("__PORT__", String(port))
        .replaceAll("__STORAGE__", storage)
        .replaceAll(
          "__V8_FLAGS__",
          v8Flags()
            .map((flag) => JSON.stringify(flag))
            .join(", "),
        )
        .replaceAll("__COMPATIBILITY_DATE__", settings.compatibilityDate)
        .replaceAll(
          "__COMPATIBILITY_FLAGS__",
          settings.compatibilityFlags.map((flag) => JSON.stringify(flag)).join(", "),
        )
        .replaceAll("__VARS__", varsFor(mode));
      const configPath = join(context.workDir, "relay.capnp");
      writeFileSync(configPath, config);
      const server = await startHealthyServer(
        {
          command: WORKERD,
          args: ["serve", configPath],
          cwd: context.workDir,
          cpus: context.cpus,
          // Its storage is thrown away: no need to wait for workerd's graceful drain.
          stopGraceMs: 0,
        },
        `http://127.0.0.1:${port}/healthz`,
        30_000,
      );
      const routes = mode.routes ?? relayRoutes(mode.channelPrefix);
      return {
        host: "127.0.0.1",
        port,
        ...routes,
        pid: server.pid,
        roleOf: () => mode.role,
        ...(mode.channelStats === false
          ? {}
          : { channelStats: (channel: string) => relayChannelStats(port, `${mode.channelPrefix}${channel}`) }),
        output: server.output,
        stop: server.stop,
      };
    },
    versions: async () => ({
      workerd: (await run(WORKERD, ["--version"])).trim().replace(/^workerd /, ""),
      wrangler: JSON.parse(readFileSync(join(REPO_ROOT, "node_modules/wrangler/package.json"), "utf8"))
        .version as string,
    }),
  };
}

/** The relay's own stats endpoint (GET /v1/channels/{c}, publisher token): subscribers, fan-out objects. */
export async function relayChannelStats(port: number, channel: string): Promise<ChannelStatsReading> {
  const response = await fetch(`http://127.0.0.1:${port}/v1/channels/${channel}`, {
    headers: { Authorization: `Bearer ${BENCH_TOKEN}` },
  });
  if (!response.ok) throw new Error(`channel stats: HTTP ${response.status} ${await response.text()}`);
  const body = (await response.json()) as ChannelStatsReading;
  return { mode: body.mode, subscribers: body.subscribers, fanouts: body.fanouts ?? [] };
}
