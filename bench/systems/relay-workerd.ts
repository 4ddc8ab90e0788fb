/**
 * The relay as production runs it: the Worker bundle that `wrangler deploy
 * --dry-run` builds (exactly what would be uploaded), served by one workerd
 * process with the ChannelObject Durable Object on local SQLite storage.
 * No wrangler dev proxy, no Miniflare entry worker in front.
 *
 * BENCH_RELAY_DIR may point at another checkout (e.g. a copy with a change
 * under trial) to bundle from there instead; BENCH_WORKERD_V8_FLAGS passes
 * V8 flags (e.g. --perf-basic-prof) for profiling.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { run } from "../lib/exec.ts";
import { freePort, startHealthyServer } from "../lib/server-process.ts";
import type { RunningSystem, StartContext, SystemDefinition } from "./types.ts";
import { readWorkerSettings } from "./wrangler-config.ts";

export const REPO_ROOT = resolve(import.meta.dirname, "../..");
export const RELAY_SOURCE = resolve(process.env.BENCH_RELAY_DIR ?? REPO_ROOT);
export const WORKERD = join(REPO_ROOT, "node_modules/workerd/bin/workerd");
export const WRANGLER = join(REPO_ROOT, "node_modules/wrangler/bin/wrangler.js");
const TEMPLATE = join(import.meta.dirname, "../servers/relay.capnp");
export const BENCH_TOKEN = "bench-token";

/** The relay's API, the same however it is run. */
export const RELAY_ROUTES: Pick<RunningSystem, "subscribePath" | "publishPath" | "publishHeaders"> = {
  subscribePath: (channel) => `/v1/channels/${channel}/events`,
  publishPath: (channel) => `/v1/channels/${channel}/events`,
  publishHeaders: { Authorization: `Bearer ${BENCH_TOKEN}` },
};

let bundle: Promise<string> | undefined;

/** Bundles the Worker once per bench run; returns the path of index.js. */
function bundleWorker(outDir: string): Promise<string> {
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

export function relayWorkerd(bundleDir: string): SystemDefinition {
  return {
    id: "relay",
    label: "Relay (workerd)",
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
      const vars: Record<string, string> = { ...settings.vars, PUBLISH_TOKENS: BENCH_TOKEN };
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
        .replaceAll(
          "__VARS__",
          Object.entries(vars)
            .map(([name, value]) => `    (name = ${JSON.stringify(name)}, text = ${JSON.stringify(value)}),`)
            .join("\n"),
        );
      const configPath = join(context.workDir, "relay.capnp");
      writeFileSync(configPath, config);
      const server = await startHealthyServer(
        { command: WORKERD, args: ["serve", configPath], cwd: context.workDir, cpus: context.cpus },
        `http://127.0.0.1:${port}/healthz`,
        30_000,
      );
      return {
        host: "127.0.0.1",
        port,
        ...RELAY_ROUTES,
        pid: server.pid,
        roleOf: () => "workerd (Worker + Durable Object)",
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
