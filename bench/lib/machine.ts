/** The machine a run happened on, for the write-up. */
import { readFileSync } from "node:fs";
import { cpus, release, totalmem } from "node:os";
import { tryRun } from "./exec.ts";

export async function describeMachine(): Promise<Record<string, string>> {
  const osRelease = safeRead("/etc/os-release");
  const limits = safeRead("/proc/self/limits");
  return {
    // Online CPUs of the machine (not this process's affinity: the harness pins itself).
    cpus: String(cpus().length),
    cpuModel: cpus()[0]?.model ?? "unknown",
    memory: `${Math.round(totalmem() / 1024 ** 3)} GiB`,
    kernel: release(),
    os: /^PRETTY_NAME="?([^"\n]*)"?/m.exec(osRelease)?.[1] ?? "unknown",
    openFileLimit: /^Max open files\s+(\d+)/m.exec(limits)?.[1] ?? "unknown",
    hypervisor: /^Hypervisor vendor:\s*(.+)$/m.exec((await tryRun("lscpu", [])) ?? "")?.[1]?.trim() ?? "none reported",
  };
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}
