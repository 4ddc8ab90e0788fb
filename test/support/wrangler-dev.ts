/**
 * Starts the relay with `wrangler dev` (local workerd, no account needed) on
 * a free loopback port, for end-to-end tests from Node. The test that starts
 * it stops it; state lives in a temporary --persist-to folder so a restart
 * keeps the channels' history, as a redeploy would.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort, stopProcessGroup } from "../../scripts/ports";
import { E2E_TOKEN } from "./sse-client";

const ROOT = resolve(import.meta.dirname, "../..");
const WRANGLER = join(ROOT, "node_modules/wrangler/bin/wrangler.js");

export interface RelayProcess {
  readonly url: string;
  readonly port: number;
  /** Stops the relay (and its workerd), keeping its persisted state. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same state. */
  restart(): Promise<void>;
  /** Stops it and deletes its state. */
  dispose(): Promise<void>;
  /** Everything wrangler printed, for failure messages. */
  output(): string;
}

export async function startRelay(vars: Record<string, string> = {}): Promise<RelayProcess> {
  const port = await freePort();
  const persistDir = mkdtempSync(join(tmpdir(), "sse-relay-e2e-"));
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let log = "";

  const start = async () => {
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
      "--persist-to",
      persistDir,
    ];
    for (const [key, value] of Object.entries({ PUBLISH_TOKENS: E2E_TOKEN, ALLOWED_ORIGINS: "*", ...vars })) {
      args.push("--var", `${key}:${value}`);
    }
    child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true", NO_COLOR: "1", BROWSER: "none" },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // own process group, so stop() also ends workerd
    });
    child.stdout?.on("data", (chunk) => (log += chunk));
    child.stderr?.on("data", (chunk) => (log += chunk));
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`wrangler dev exited with ${child.exitCode}:\n${log}`);
      try {
        const response = await fetch(`${url}/healthz`);
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((resolveWait) => setTimeout(resolveWait, 200));
    }
    throw new Error(`wrangler dev did not become healthy within 60 s:\n${log}`);
  };

  const stop = async () => {
    const running = child;
    child = undefined;
    if (running) await stopProcessGroup(running, port);
  };

  await start();
  return {
    url,
    port,
    stop,
    restart: start,
    dispose: async () => {
      await stop();
      rmSync(persistDir, { recursive: true, force: true });
    },
    output: () => log,
  };
}
