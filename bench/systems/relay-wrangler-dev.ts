/**
 * The relay under `wrangler dev`, only for the dev-proxy analysis: the same
 * Worker, but every connection passes wrangler's proxy workerd before it
 * reaches the workerd that runs the Worker and its Durable Object.
 */
import { join } from "node:path";
import { commandLine } from "../lib/proc.ts";
import { freePort, startHealthyServer } from "../lib/server-process.ts";
import { BENCH_VARS, RELAY_ROUTES, RELAY_SOURCE, WRANGLER } from "./relay-workerd.ts";
import type { RunningSystem, StartContext, SystemDefinition } from "./types.ts";

export const relayWranglerDev: SystemDefinition = {
  id: "relay-dev",
  label: "Relay (wrangler dev)",
  check: async () => {},
  start: async (context: StartContext): Promise<RunningSystem> => {
    const port = await freePort();
    const inspectorPort = await freePort();
    const args = [
      WRANGLER,
      "dev",
      "--ip",
      "127.0.0.1",
      "--port",
      String(port),
      "--inspector-port",
      String(inspectorPort),
    ];
    args.push("--persist-to", join(context.workDir, "state"));
    for (const [name, value] of Object.entries(BENCH_VARS)) args.push("--var", `${name}:${value}`);
    const server = await startHealthyServer(
      {
        command: process.execPath,
        args,
        cwd: RELAY_SOURCE,
        env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true", NO_COLOR: "1", BROWSER: "none" },
        cpus: context.cpus,
      },
      `http://127.0.0.1:${port}/healthz`,
      90_000,
    );
    const roles = new Map<number, string>();
    const roleOf = (pid: number): string => {
      let role = roles.get(pid);
      if (role === undefined) {
        role = classify(commandLine(pid));
        // A process that already exited has no command line left: do not remember a guess.
        if (role !== "exited") roles.set(pid, role);
      }
      return role;
    };
    const classify = (command: string): string => {
      if (command === "") return "exited";
      if (command.includes("workerd")) {
        // The workerd whose entry socket is the public port is wrangler's dev proxy.
        return command.includes(`--socket-addr=entry=127.0.0.1:${port}`) ? "dev proxy workerd" : "Worker + DO workerd";
      }
      if (command.includes("esbuild")) return "esbuild";
      return command.includes("wrangler-dist/cli.js") ? "wrangler (node)" : "wrangler launcher (node)";
    };
    return {
      host: "127.0.0.1",
      port,
      ...RELAY_ROUTES,
      pid: server.pid,
      roleOf,
      output: server.output,
      stop: server.stop,
    };
  },
  versions: async () => ({}),
};
