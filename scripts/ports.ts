/** Loopback ports for local relays (npm run soak, the end-to-end tests): a free one, and whether one is free. */
import type { ChildProcess } from "node:child_process";
import { createServer } from "node:net";

/**
 * Ports handed out here: below every system's default ephemeral range (Linux 32768-60999, macOS
 * and Windows 49152-65535). A port the kernel picked for us (listen on 0) is free only until we
 * let it go: before wrangler dev binds it, any outgoing connection (a test's hundreds of streams)
 * or any listen on 0 (another relay's workerd, starting beside it) may take it, and the relay then
 * fails with "Address already in use". Ports outside that range are only ever taken by name.
 */
const RANGE = { first: 20_000, last: 32_767 };

/** A free loopback port, chosen at random in RANGE (another chooser may pick the same one, rarely). */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = RANGE.first + Math.floor(Math.random() * (RANGE.last - RANGE.first + 1));
    if (await portIsFree(port)) return port;
  }
  throw new Error(`no free port in ${RANGE.first}-${RANGE.last} after 100 tries`);
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
