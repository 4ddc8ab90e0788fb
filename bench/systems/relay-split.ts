/**
 * The relay split the way production splits it: the Worker (which holds the
 * subscribers' SSE streams in hibernating mode) in one workerd process, the
 * Durable Objects in another, the two talking over a real loopback socket.
 * Its point is the objects' process's own CPU and memory per delivery (the
 * serverCpuByRole figures), which production pays on the object's machine,
 * while the Worker's half runs on the edge machines holding the browsers.
 *
 * workerd cannot bind a Durable Object namespace across processes, so the
 * objects' process has a small forwarding entrypoint
 * (bench/servers/split/objects-entry.js) and the Worker's process gives the
 * relay CHANNELS / FANOUTS stand-ins that send each stub call to it
 * (worker-entry.js). What that adds: one HTTP request per attach, publish,
 * history read or stats call, with JSON for RPC arguments; WebSocket
 * messages and streamed bodies are pumped by workerd natively, with no
 * JavaScript per message. Both processes are pinned to the server CPU.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { commandLine } from "../lib/proc.ts";
import { freePort, startHealthyServer } from "../lib/server-process.ts";
import {
  bundleWorker,
  type FanoutShape,
  RELAY_SOURCE,
  type RelayMode,
  relayChannelStats,
  relayModeList,
  relayRoutes,
  varsFor,
  WORKERD,
} from "./relay-workerd.ts";
import type { RunningSystem, StartContext, SystemDefinition } from "./types.ts";
import { readWorkerSettings } from "./wrangler-config.ts";

const SPLIT_DIR = join(import.meta.dirname, "../servers/split");
const FILES = ["split.capnp", "objects-entry.js", "worker-entry.js", "rpc-json.js"];

/** Process roles, by the config constant on each workerd's command line. */
export const OBJECTS_ROLE = "objects' workerd (channel and fan-out objects)";
export const WORKER_ROLE = "Worker's workerd (SSE streams)";

/** The split counterpart of each delivery mode: id `<mode>-split`. */
export function relaySplitModes(bundleDir: string, fanout: FanoutShape): SystemDefinition[] {
  return relayModeList(fanout).map((mode) => relaySplit(bundleDir, mode));
}

export function relaySplit(bundleDir: string, mode: RelayMode): SystemDefinition {
  return {
    id: `${mode.id}-split`,
    label: mode.label.replace("(workerd)", "(Worker and objects in two workerd processes)"),
    check: async () => {
      await bundleWorker(bundleDir);
    },
    start: async (context: StartContext): Promise<RunningSystem> => {
      const port = await freePort();
      const objectsPort = await freePort();
      const storage = join(context.workDir, "storage");
      mkdirSync(storage, { recursive: true });
      copyFileSync(await bundleWorker(bundleDir), join(context.workDir, "index.js"));
      for (const file of FILES) copyFileSync(join(SPLIT_DIR, file), join(context.workDir, file));
      const settings = readWorkerSettings(join(RELAY_SOURCE, "wrangler.toml"));
      const config = readFileSync(join(SPLIT_DIR, "split.capnp"), "utf8")
        .replaceAll("__PORT__", String(port))
        .replaceAll("__OBJECTS_PORT__", String(objectsPort))
        .replaceAll("__STORAGE__", storage)
        .replaceAll("__COMPATIBILITY_DATE__", settings.compatibilityDate)
        .replaceAll(
          "__COMPATIBILITY_FLAGS__",
          settings.compatibilityFlags.map((flag) => JSON.stringify(flag)).join(", "),
        )
        .replaceAll("__VARS__", varsFor(mode));
      writeFileSync(join(context.workDir, "split.capnp"), config);
      // One process group (stopped together); bash waits for both and stops the other if one exits.
      // The Worker's process keeps four descriptors per subscriber (its client connection and its
      // connection to the objects' process, each held twice by workerd): about 4,990 subscribers fit
      // under a 20,000 open-file limit. Raising it needs CAP_SYS_RESOURCE (`ulimit -Hn` before the run).
      const script = `"${WORKERD}" serve split.capnp objectsConfig & "${WORKERD}" serve split.capnp workerConfig & wait -n; kill 0`;
      const server = await startHealthyServer(
        {
          command: "bash",
          args: ["-c", script],
          cwd: resolve(context.workDir),
          cpus: context.cpus,
          // Its storage is thrown away: no need to wait for workerd's graceful drain.
          stopGraceMs: 0,
        },
        `http://127.0.0.1:${port}/healthz`,
        30_000,
      );
      const roles = new Map<number, string>();
      const roleOf = (pid: number): string => {
        let role = roles.get(pid);
        if (role === undefined) {
          const command = commandLine(pid);
          // The launcher's own command line names both configs: test for it first.
          role =
            command === ""
              ? "exited"
              : command.startsWith("bash")
                ? "launcher (bash)"
                : command.includes("objectsConfig")
                  ? OBJECTS_ROLE
                  : command.includes("workerConfig")
                    ? WORKER_ROLE
                    : "other";
          if (role !== "exited") roles.set(pid, role);
        }
        return role;
      };
      return {
        host: "127.0.0.1",
        port,
        ...(mode.routes ?? relayRoutes(mode.channelPrefix)),
        pid: server.pid,
        roleOf,
        ...(mode.channelStats === false
          ? {}
          : { channelStats: (channel: string) => relayChannelStats(port, `${mode.channelPrefix}${channel}`) }),
        output: server.output,
        stop: server.stop,
      };
    },
    versions: async () => ({}),
  };
}
