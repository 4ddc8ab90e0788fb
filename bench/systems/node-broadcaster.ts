/** The minimal node:http broadcaster (bench/servers/node-sse.ts), run in its own process. */
import { join } from "node:path";
import { freePort, startHealthyServer } from "../lib/server-process.ts";
import type { RunningSystem, StartContext, SystemDefinition } from "./types.ts";

const SERVER = join(import.meta.dirname, "../servers/node-sse.ts");

export const nodeBroadcaster: SystemDefinition = {
  id: "node",
  label: "Node http broadcaster",
  check: async () => {},
  start: async (context: StartContext): Promise<RunningSystem> => {
    const port = await freePort();
    const server = await startHealthyServer(
      { command: process.execPath, args: [SERVER, "--port", String(port)], cpus: context.cpus },
      `http://127.0.0.1:${port}/healthz`,
      10_000,
    );
    return {
      host: "127.0.0.1",
      port,
      subscribePath: (channel) => `/sub/${channel}`,
      publishPath: (channel) => `/pub/${channel}`,
      publishHeaders: {},
      pid: server.pid,
      roleOf: (pid) => (pid === server.pid ? "node" : "child"),
      output: server.output,
      stop: server.stop,
    };
  },
  versions: async () => ({ node: process.version }),
};
