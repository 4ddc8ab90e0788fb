/**
 * `npm run deploy [-- --env production|workers-dev] [-- --dry-run] [-- other wrangler deploy flags]`
 *
 * Deploys a named environment of wrangler.toml (production by default),
 * but first refuses, saying what to set, when it would deploy something
 * unusable: example.com placeholders still in place, no ALLOWED_ORIGINS (no
 * page on another origin could read a stream), Custom Domains that do not
 * match RELAY_HOSTS and SHARDS, or the top-level configuration (which is for
 * local development). After a real deploy it runs the smoke check
 * (scripts/smoke.ts) on every relay host.
 */
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { domainMismatches } from "./shard-domains.ts";
import { runSmoke } from "./smoke.ts";
import { CONFIG, ROOT, environmentNames, readEnvironment } from "./wrangler-config.ts";

const PLACEHOLDER = /(^|[./])example\.(com|org|net)\b/i;

/** What must change in wrangler.toml before this environment can be deployed (empty: nothing). */
export function deployProblems(env: string, configPath = CONFIG): string[] {
  const names = environmentNames(configPath);
  if (!names.includes(env)) {
    return [
      env === ""
        ? "The top-level configuration is for local development (no ALLOWED_ORIGINS, no hosts); deploy a named environment:"
        : `wrangler.toml has no [env.${env}]; deploy one of its environments:`,
      ...names.map((name) => `  npm run deploy -- --env ${name}`),
    ];
  }
  const { vars, routes } = readEnvironment(env, configPath);
  const where = `[env.${env}.vars]`;
  const problems: string[] = [];
  const origins = (vars.ALLOWED_ORIGINS ?? "").split(",").filter((origin) => origin.trim() !== "");
  if (origins.length === 0) {
    problems.push(
      `Set ALLOWED_ORIGINS in ${where} to the origins of the pages that subscribe (e.g. "https://app.yourdomain.com"); empty, no page on another origin can read a stream.`,
    );
  } else if (origins.some((origin) => PLACEHOLDER.test(origin))) {
    problems.push(`Replace example.com in ALLOWED_ORIGINS in ${where} with the origins of your pages.`);
  }
  if (PLACEHOLDER.test(vars.RELAY_HOSTS ?? "")) {
    problems.push(
      `Replace example.com in RELAY_HOSTS in ${where} with your zone, then run \`npm run shard-domains -- --env ${env}\`.`,
    );
  } else if (routes.some((route) => PLACEHOLDER.test(route.pattern))) {
    problems.push(`Replace example.com in the routes of [env.${env}] with your zone.`);
  }
  const mismatches = domainMismatches(env, configPath);
  if (mismatches.length > 0 && problems.length === 0) {
    problems.push(
      `The Custom Domains of [env.${env}] do not match RELAY_HOSTS and SHARDS; run \`npm run shard-domains -- --env ${env}\`:`,
      ...mismatches.map((mismatch) => `  ${mismatch}`),
    );
  }
  return problems;
}

/** Our own flags (--env, --config, --no-smoke) out of argv; everything else goes to wrangler as it is. */
export function splitArgs(argv: string[]): { env: string; config: string; smoke: boolean; rest: string[] } {
  let env = "production";
  let config = CONFIG;
  let smoke = true;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes("=")
      ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)]
      : [arg];
    if (flag === "--env" || flag === "-e") env = inline ?? argv[++i] ?? "";
    else if (flag === "--config" || flag === "-c") config = resolve(inline ?? argv[++i] ?? "");
    else if (arg === "--no-smoke") smoke = false;
    else rest.push(arg);
  }
  if (rest.includes("--dry-run")) smoke = false;
  return { env, config, smoke, rest };
}

async function main(): Promise<number> {
  const { env, config, smoke, rest } = splitArgs(process.argv.slice(2));
  const problems = deployProblems(env, config);
  if (problems.length > 0) {
    console.error(
      `Not deploying env "${env}" of ${config}:\n${problems.map((line) => (line.startsWith("  ") ? line : `- ${line}`)).join("\n")}`,
    );
    console.error("See docs/DEPLOY.md.");
    return 1;
  }
  const args = ["deploy", `--env=${env}`, `--config=${config}`, ...rest];
  console.log(`wrangler ${args.join(" ")}`);
  const wrangler = resolve(ROOT, "node_modules/wrangler/bin/wrangler.js");
  const result = spawnSync(process.execPath, [wrangler, ...args], { stdio: "inherit", cwd: ROOT });
  if (result.status !== 0) return result.status ?? 1;
  if (!smoke) return 0;
  if (!readEnvironment(env, config).vars.RELAY_HOSTS) {
    console.log(
      `env.${env} lists no RELAY_HOSTS: check its address with \`npm run smoke -- --url https://${readEnvironment(env, config).name}.<your-subdomain>.workers.dev\`.`,
    );
    return 0;
  }
  return runSmoke(env, undefined, 300, config);
}

if (import.meta.main) process.exitCode = await main();
