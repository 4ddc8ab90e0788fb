/**
 * What can be checked about a deployment without a Cloudflare account:
 * every environment of wrangler.toml builds with `wrangler deploy --dry-run`
 * without a single warning and with a bundle of the expected size; the
 * Custom Domains match RELAY_HOSTS and SHARDS; `npm run deploy` refuses the
 * placeholders and deploys (dry) a filled-in copy. Plan- and zone-side
 * failures (a name already taken, a certificate not issued) only show on a
 * real deploy: docs/DEPLOY.md names them, and `npm run smoke` checks.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { domainMismatches } from "../../scripts/shard-domains.ts";
import { checkHealth } from "../../scripts/smoke.ts";
import { environmentNames } from "../../scripts/wrangler-config.ts";
import { startRelay } from "../support/wrangler-dev";

const ROOT = resolve(import.meta.dirname, "../..");
const WRANGLER = join(ROOT, "node_modules/wrangler/bin/wrangler.js");
const scratch = mkdtempSync(join(tmpdir(), "deploy-config-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/**
 * The Worker bundle (hono, @upstash/redis and the relay) is about 350 KiB.
 * Far less means the entry point or a module went missing; far more, that
 * something large (a Node polyfill, a dev dependency) was pulled in. The
 * Free plan's limit is 3 MiB after compression.
 */
const BUNDLE_KIB = { min: 200, max: 800 };

/** No account, no metrics, no colours: what runs here runs offline. */
function run(args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true", NO_COLOR: "1" };
  delete env.CLOUDFLARE_API_TOKEN;
  delete env.CLOUDFLARE_ACCOUNT_ID;
  const result = spawnSync(process.execPath, args, { cwd: ROOT, env, encoding: "utf8", timeout: 120_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

const environments = ["", ...environmentNames()];

describe("wrangler deploy --dry-run", () => {
  it("the config has the environments docs/DEPLOY.md walks through", () => {
    expect(environments).toEqual(["", "production", "workers-dev"]);
  });

  it.each(environments)("env %j builds without a warning and with a bundle of the expected size", (env) => {
    const outdir = join(scratch, `dry-run-${env || "top-level"}`);
    const { status, output } = run([WRANGLER, "deploy", "--dry-run", "--outdir", outdir, `--env=${env}`]);
    expect(status, output).toBe(0);
    expect(output).toContain("--dry-run: exiting now.");
    expect(output, "wrangler printed a warning").not.toMatch(/WARNING|▲/);
    const kib = statSync(join(outdir, "index.js")).size / 1024;
    console.log(`env ${JSON.stringify(env)}: bundle ${kib.toFixed(1)} KiB`);
    expect(kib).toBeGreaterThan(BUNDLE_KIB.min);
    expect(kib).toBeLessThan(BUNDLE_KIB.max);
  });
});

describe("Custom Domains and npm run deploy", () => {
  it("every environment's Custom Domains are exactly its RELAY_HOSTS with SHARDS filled in", () => {
    for (const env of environmentNames()) expect(domainMismatches(env), env).toEqual([]);
  });

  it("refuses to deploy the placeholders or the top level, saying what to set, without running wrangler", () => {
    const production = run(["scripts/deploy.ts"]);
    expect(production.status).toBe(1);
    expect(production.output).toMatch(/ALLOWED_ORIGINS in \[env\.production\.vars\]/);
    expect(production.output).toMatch(/RELAY_HOSTS in \[env\.production\.vars\] with your zone/);
    expect(production.output).not.toMatch(/wrangler deploy/);
    const topLevel = run(["scripts/deploy.ts", "--env="]);
    expect(topLevel.status).toBe(1);
    expect(topLevel.output).toMatch(/top-level configuration is for local development/);
    expect(topLevel.output).toMatch(/npm run deploy -- --env production/);
  });

  /** wrangler.toml with example.com replaced, main and assets made absolute, in a scratch folder. */
  function filledInConfig(name: string, edit: (text: string) => string = (text) => text): string {
    const text = readFileSync(join(ROOT, "wrangler.toml"), "utf8")
      .replaceAll("example.com", "relay-owner.dev")
      .replace('main = "src/index.ts"', `main = ${JSON.stringify(join(ROOT, "src/index.ts"))}`)
      .replaceAll('directory = "./public"', `directory = ${JSON.stringify(join(ROOT, "public"))}`);
    const path = join(scratch, name);
    writeFileSync(path, edit(text));
    return path;
  }

  it("deploys (dry) a filled-in production config, and refuses one whose Custom Domains disagree with SHARDS", () => {
    const good = filledInConfig("good.toml");
    const outdir = join(scratch, "deploy-script");
    const deployed = run(["scripts/deploy.ts", "--config", good, "--dry-run", "--outdir", outdir]);
    expect(deployed.status, deployed.output).toBe(0);
    expect(deployed.output).toContain("--env=production");
    expect(deployed.output).toContain("--dry-run: exiting now.");
    expect(deployed.output).not.toMatch(/WARNING|▲/);

    const drifted = filledInConfig("drifted.toml", (text) => text.replace('SHARDS = "8"', 'SHARDS = "6"'));
    const refused = run(["scripts/deploy.ts", "--config", drifted, "--dry-run"]);
    expect(refused.status).toBe(1);
    expect(refused.output).toMatch(/do not match RELAY_HOSTS and SHARDS/);
    expect(refused.output).toContain("not in RELAY_HOSTS: sse6.relay-owner.dev (custom domain)");
  });
});

describe("npm run smoke", () => {
  it("passes on a healthy host and names the cause on a refused or unknown one", async () => {
    const relay = await startRelay({ RELAY_HOSTS: "127.0.0.1" });
    try {
      const smoke = spawnSync(process.execPath, ["scripts/smoke.ts", "--url", relay.url, "--wait-seconds", "0"], {
        cwd: ROOT,
        encoding: "utf8",
      });
      expect(smoke.status, smoke.stdout + smoke.stderr).toBe(0);
      expect(smoke.stdout).toContain("Every host is healthy.");

      const refused = await checkHealth(`http://localhost:${relay.port}/healthz`); // not in RELAY_HOSTS
      expect(refused).toMatchObject({ ok: false });
      expect(refused.detail).toMatch(/^421 .*add it to RELAY_HOSTS/);
      const unknown = await checkHealth("http://no-such-host.invalid/healthz");
      expect(unknown.ok).toBe(false);
      expect(unknown.detail).toMatch(/ENOTFOUND|EAI_AGAIN/);
    } finally {
      await relay.dispose();
    }
  });
});
