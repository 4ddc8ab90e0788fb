/**
 * `npm run smoke [-- --env production] [-- --url https://…]`
 *
 * After a deploy: GET https://<host>/healthz on every host the environment's
 * RELAY_HOSTS and SHARDS stand for (or on the --url given, e.g. the
 * workers.dev address), and say for each whether it answered, and if not,
 * why (no DNS record yet, TLS certificate not issued or not covering the
 * name, 421 because RELAY_HOSTS does not list it, 500 for a bad setting).
 * A new Custom Domain's certificate can take a few minutes: by default each
 * host is tried until it answers or --wait-seconds pass.
 */
import { parseArgs } from "node:util";
import { CONFIG, readEnvironment, relayHosts } from "./wrangler-config.ts";

export interface HostHealth {
  url: string;
  ok: boolean;
  detail: string;
}

/** One GET /healthz, described. */
export async function checkHealth(url: string): Promise<HostHealth> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(15_000), redirect: "manual" });
    const body = await response.text();
    if (response.ok) return { url, ok: true, detail: `${response.status} ${body.trim()}` };
    const hint =
      response.status === 421
        ? " (the relay does not serve this name: add it to RELAY_HOSTS)"
        : response.status === 500
          ? " (a setting is invalid: the body names it)"
          : "";
    return { url, ok: false, detail: `${response.status} ${body.trim().slice(0, 300)}${hint}` };
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const code = cause?.code ?? (error as Error).name;
    const hint =
      code === "ENOTFOUND"
        ? " (no DNS record yet: is the Custom Domain attached?)"
        : /CERT|TLS|SSL|ALTNAME/.test(code)
          ? " (TLS: the certificate is not issued yet or does not cover this name)"
          : "";
    return { url, ok: false, detail: `${code}: ${cause?.message ?? (error as Error).message}${hint}` };
  }
}

/** Tries every URL until all answer or the time is up; returns the last result of each. */
export async function smoke(urls: string[], waitSeconds: number): Promise<HostHealth[]> {
  const deadline = Date.now() + waitSeconds * 1_000;
  const results = new Map<string, HostHealth>();
  let pending = urls;
  for (let attempt = 1; ; attempt++) {
    for (const result of await Promise.all(pending.map(checkHealth))) results.set(result.url, result);
    pending = urls.filter((url) => !results.get(url)?.ok);
    if (pending.length === 0 || Date.now() >= deadline) break;
    console.log(`  ${pending.length} of ${urls.length} not healthy yet (attempt ${attempt}); trying again…`);
    await new Promise((resolve) => setTimeout(resolve, Math.min(15_000, 2_000 * attempt)));
  }
  return urls.map((url) => results.get(url)!);
}

/** The /healthz URLs of an environment's hosts, or why there are none. */
export function healthUrls(env: string, configPath = CONFIG): { urls: string[] } | { problem: string } {
  const expanded = relayHosts(readEnvironment(env, configPath).vars);
  if ("problem" in expanded) return expanded;
  if (expanded.hosts.length === 0) {
    return { problem: `env.${env} lists no RELAY_HOSTS: give the address to check with --url https://…` };
  }
  return { urls: expanded.hosts.map((host) => `https://${host}/healthz`) };
}

export async function runSmoke(
  env: string,
  url: string | undefined,
  waitSeconds: number,
  configPath = CONFIG,
): Promise<number> {
  const target = url ? { urls: [`${url.replace(/\/+$/, "")}/healthz`] } : healthUrls(env, configPath);
  if ("problem" in target) {
    console.error(target.problem);
    return 1;
  }
  console.log(`Smoke check: GET /healthz on ${target.urls.length} host(s)`);
  const results = await smoke(target.urls, waitSeconds);
  for (const result of results) console.log(`  ${result.ok ? "ok  " : "FAIL"} ${result.url}  ${result.detail}`);
  const failed = results.filter((result) => !result.ok).length;
  console.log(failed === 0 ? "Every host is healthy." : `${failed} host(s) failed.`);
  return failed === 0 ? 0 : 1;
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      env: { type: "string", default: "production" },
      url: { type: "string" },
      "wait-seconds": { type: "string", default: "300" },
    },
  });
  process.exitCode = await runSmoke(values.env, values.url, Number(values["wait-seconds"]));
}
