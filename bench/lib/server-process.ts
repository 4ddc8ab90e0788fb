/**
 * Starts a server under test in its own process group (so stopping it also
 * stops whatever it spawned, and nothing else), optionally pinned to CPUs,
 * waits until it answers HTTP, and stops exactly that group.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { request } from "node:http";
import { createServer } from "node:net";

export interface ServerProcess {
  readonly pid: number;
  /** stdout + stderr so far (last 64 KB), for failure messages. */
  output(): string;
  exited(): boolean;
  stop(): Promise<void>;
}

export interface StartOptions {
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** taskset CPU list, e.g. "0"; undefined runs unpinned. */
  readonly cpus?: string | undefined;
  /**
   * How long stop() waits after SIGTERM before SIGKILL (default 5 s); 0 kills
   * at once, for a server with nothing to save that would take its time to
   * shut down gracefully (workerd drains open connections for over 10 s).
   */
  readonly stopGraceMs?: number;
}

/** Every server started and not yet stopped, so an interrupted run can stop them all. */
const running = new Set<ServerProcess>();

/** Stops every server still running (a run over its time budget, or interrupted). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((server) => server.stop()));
}

const OUTPUT_KEPT = 64 * 1024;

function startProcess(options: StartOptions): ServerProcess {
  const [command, args] =
    options.cpus === undefined
      ? [options.command, [...options.args]]
      : ["taskset", ["-c", options.cpus, options.command, ...options.args]];
  const child: ChildProcess = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true, // its own process group: stop() signals the group, never a name
  });
  let log = "";
  const keep = (chunk: Buffer) => {
    log += chunk.toString();
    if (log.length > OUTPUT_KEPT) log = log.slice(-OUTPUT_KEPT);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  child.on("error", (error) => keep(Buffer.from(`\n[spawn failed: ${error.message}]\n`)));
  const pid = child.pid;
  if (pid === undefined) throw new Error(`cannot start ${options.command}`);
  let exitCode: number | null = null;
  const exit = new Promise<void>((resolve) =>
    child.once("exit", (code, signal) => {
      exitCode = code ?? (signal ? 128 : 0);
      resolve();
    }),
  );
  const graceMs = options.stopGraceMs ?? 5_000;
  const server: ServerProcess = {
    pid,
    output: () => log,
    exited: () => exitCode !== null,
    stop: async () => {
      if (exitCode === null) signalGroup(pid, graceMs === 0 ? "SIGKILL" : "SIGTERM");
      const timer = setTimeout(() => signalGroup(pid, "SIGKILL"), graceMs);
      await exit;
      clearTimeout(timer);
      // Children that outlived the leader (e.g. workerd under wrangler) go too.
      signalGroup(pid, "SIGKILL");
      running.delete(server);
    },
  };
  running.add(server);
  return server;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // group already gone
  }
}

/** Polls `url` until it answers 2xx; throws with the server's output if it exits or times out. */
async function waitUntilHealthy(server: ServerProcess, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (server.exited()) throw new Error(`server exited during start-up:\n${server.output()}`);
    if (await answers(url)) return;
    await sleep(100);
  }
  throw new Error(`server did not answer ${url} within ${timeoutMs} ms:\n${server.output()}`);
}

/**
 * startProcess, then waitUntilHealthy on `healthUrl`; a server that never
 * becomes healthy is stopped before the error is thrown.
 */
export async function startHealthyServer(
  options: StartOptions,
  healthUrl: string,
  timeoutMs: number,
): Promise<ServerProcess> {
  const server = startProcess(options);
  try {
    await waitUntilHealthy(server, healthUrl, timeoutMs);
  } catch (error) {
    await server.stop();
    throw error;
  }
  return server;
}

function answers(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, { timeout: 1_000 }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300);
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no free port")),
      );
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
