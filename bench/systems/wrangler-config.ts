/**
 * The few wrangler.toml settings the direct-workerd run must copy: the
 * compatibility date and flags and the top-level [vars]. A line-based read
 * is enough for this file's simple `key = "value"` form.
 */
import { readFileSync } from "node:fs";

export interface WorkerSettings {
  readonly compatibilityDate: string;
  readonly compatibilityFlags: string[];
  readonly vars: Record<string, string>;
}

export function readWorkerSettings(tomlPath: string): WorkerSettings {
  const lines = readFileSync(tomlPath, "utf8").split("\n");
  let section = "";
  let compatibilityDate = "";
  let compatibilityFlags: string[] = [];
  const vars: Record<string, string> = {};
  for (const raw of lines) {
    const line = raw.replace(/#.*$/, "").trim();
    const header = /^\[+([^\]]+)\]+$/.exec(line);
    if (header) {
      section = header[1]!.trim();
      continue;
    }
    const pair = /^([A-Za-z_][\w-]*)\s*=\s*(.+)$/.exec(line);
    if (!pair) continue;
    const [, key, value] = pair as unknown as [string, string, string];
    if (section === "" && key === "compatibility_date") compatibilityDate = JSON.parse(value) as string;
    if (section === "" && key === "compatibility_flags") compatibilityFlags = JSON.parse(value) as string[];
    if (section === "vars" && value.startsWith('"')) vars[key] = JSON.parse(value) as string;
  }
  if (compatibilityDate === "") throw new Error(`${tomlPath} has no compatibility_date`);
  return { compatibilityDate, compatibilityFlags, vars };
}
