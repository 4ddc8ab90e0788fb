/**
 * wrangler.toml as wrangler itself reads it (its own parser and environment
 * rules), for the deploy scripts: which environments exist, their routes,
 * and the relay hosts their RELAY_HOSTS and SHARDS stand for.
 */
import { resolve } from "node:path";
import { experimental_readRawConfig, unstable_readConfig } from "wrangler";
import { expandHostEntry } from "../src/shard-hosts.ts";

export const ROOT = resolve(import.meta.dirname, "..");
export const CONFIG = resolve(ROOT, "wrangler.toml");

export interface Route {
  pattern: string;
  custom_domain?: boolean;
  zone_name?: string;
  zone_id?: string;
}

export interface EnvironmentConfig {
  /** The Worker's name in this environment (wrangler appends -<env>). */
  name: string;
  routes: Route[];
  vars: Record<string, string>;
  workersDev: boolean | undefined;
}

/**
 * Every `[vars]` block as written (the top level's, then each environment's), values as TOML gave
 * them: wrangler hands a Worker numbers and booleans as such, so a setting must be a string.
 */
export function varsBlocks(configPath = CONFIG): { block: string; vars: Record<string, unknown> }[] {
  return ["", ...environmentNames(configPath)].map((env) => ({
    block: env === "" ? "[vars]" : `[env.${env}.vars]`,
    // Wrangler does not inherit vars, so an environment's are exactly its own block.
    vars: unstable_readConfig({ config: configPath, env }, { hideWarnings: true }).vars ?? {},
  }));
}

/** Names of the environments defined under [env.*] (the top level is not one). */
export function environmentNames(configPath = CONFIG): string[] {
  return Object.keys(experimental_readRawConfig({ config: configPath }).rawConfig.env ?? {});
}

export function readEnvironment(env: string, configPath = CONFIG): EnvironmentConfig {
  const config = unstable_readConfig({ config: configPath, env }, { hideWarnings: true });
  const vars: Record<string, string> = {};
  for (const [key, value] of Object.entries(config.vars ?? {})) vars[key] = String(value);
  return {
    name: config.name ?? "",
    routes: ((config.routes ?? []) as (string | Route)[]).map((route) =>
      typeof route === "string" ? { pattern: route } : route,
    ),
    vars,
    workersDev: config.workers_dev,
  };
}

/** The hosts RELAY_HOSTS stands for with SHARDS filled in (empty: any host, none listed). */
export function relayHosts(vars: Record<string, string>): { hosts: string[] } | { problem: string } {
  const shards = Number(vars.SHARDS ?? "0");
  if (!Number.isSafeInteger(shards) || shards < 0) return { problem: `SHARDS is not a whole number: "${vars.SHARDS}"` };
  const hosts: string[] = [];
  for (const entry of (vars.RELAY_HOSTS ?? "").split(",").filter((item) => item.trim() !== "")) {
    const expanded = expandHostEntry(entry, shards);
    if ("problem" in expanded) return { problem: `RELAY_HOSTS ${expanded.problem}` };
    for (const host of expanded.hosts) if (!hosts.includes(host)) hosts.push(host);
  }
  return { hosts };
}
