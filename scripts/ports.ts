/** Loopback ports for local relays (npm run soak, the end-to-end tests): a free one, and whether one is free. */
import type { ChildProcess } from "node:child_process";
import { createServer } from "node:net";

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolvePort(address.port) : reject(new Error("no port")),
      );
    });
  });
}

export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const server = createServer();
    server.once("error", () => resolveFree(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolveFree(true)));
  });
}

/**
 * Stops a local relay started in its own process group (so workerd ends with wrangler): `signal`,
 * then SIGKILL after 5 s, then waits until its port is free again (a restart binds the same port).
 */
export async function stopProcessGroup(
  running: ChildProcess,
  port: number,
  signal: "SIGTERM" | "SIGKILL" = "SIGTERM",
): Promise<void> {
  if (running.exitCode !== null || running.pid === undefined) return;
  const pid = running.pid;
  const exited = new Promise<void>((resolveExit) => running.once("exit", () => resolveExit()));
  try {
    process.kill(-pid, signal);
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // already gone
    }
  }, 5_000);
  await exited;
  clearTimeout(timer);
  const deadline = Date.now() + 30_000;
  while (!(await portIsFree(port))) {
    if (Date.now() > deadline) throw new Error(`port ${port} still in use after the relay stopped`);
    await new Promise((resolveWait) => setTimeout(resolveWait, 50));
  }
}
