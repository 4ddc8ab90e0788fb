/**
 * Nchan, the nginx pub/sub module (Debian nginx-light + libnginx-mod-nchan),
 * with bench/servers/nchan.conf: one worker process, run in the foreground
 * from a throw-away prefix (the system nginx service is never touched).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { run, tryRun } from "../lib/exec.ts";
import { freePort, startHealthyServer } from "../lib/server-process.ts";
import type { RunningSystem, StartContext, SystemDefinition } from "./types.ts";

const NGINX = "/usr/sbin/nginx";
const MODULE = "/usr/lib/nginx/modules/ngx_nchan_module.so";
const TEMPLATE = join(import.meta.dirname, "../servers/nchan.conf");
const INSTALL_HINT = "install them with: apt-get install -y nginx-light libnginx-mod-nchan";

export const nchan: SystemDefinition = {
  id: "nchan",
  label: "Nchan (nginx)",
  check: async () => {
    if (!existsSync(NGINX)) throw new Error(`nginx is missing (${NGINX}); ${INSTALL_HINT}`);
    if (!existsSync(MODULE)) throw new Error(`the Nchan module is missing (${MODULE}); ${INSTALL_HINT}`);
  },
  start: async (context: StartContext): Promise<RunningSystem> => {
    const port = await freePort();
    const prefix = context.workDir;
    for (const dir of ["body", "proxy", "fastcgi", "uwsgi", "scgi"]) mkdirSync(join(prefix, dir), { recursive: true });
    const config = readFileSync(TEMPLATE, "utf8")
      .replaceAll("__MODULE__", MODULE)
      .replaceAll("__PREFIX__", prefix)
      .replaceAll("__PORT__", String(port));
    const configPath = join(prefix, "nginx.conf");
    writeFileSync(configPath, config);
    // -e: errors before the config is read go to our log too, not /var/log/nginx.
    const server = await startHealthyServer(
      { command: NGINX, args: ["-p", prefix, "-c", configPath, "-e", join(prefix, "error.log")], cpus: context.cpus },
      `http://127.0.0.1:${port}/healthz`,
      10_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${tryRead(join(prefix, "error.log"))}`);
    });
    return {
      host: "127.0.0.1",
      port,
      subscribePath: (channel) => `/sub/${channel}`,
      publishPath: (channel) => `/pub/${channel}`,
      publishHeaders: {},
      pid: server.pid,
      roleOf: (pid) => (pid === server.pid ? "nginx master" : "nginx worker"),
      output: () => server.output() + tryRead(join(prefix, "error.log")),
      stop: server.stop,
    };
  },
  versions: async () => ({
    nginx: (await run(NGINX, ["-v"])).trim().replace(/^nginx version: /, ""),
    nchan: (await tryRun("dpkg-query", ["-W", "-f", "$" + "{Version}", "libnginx-mod-nchan"])) ?? "unknown",
  }),
};

function tryRead(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}
