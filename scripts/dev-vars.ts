/**
 * Local settings for `npm run dev`, `npm run dev:redis` and `npm run token`.
 *
 * The relay needs a few settings to be useful locally (a publish token, any
 * origin, the demo, JWT secrets). They are passed to wrangler as `--var`
 * flags, which would override the user's `.dev.vars`; so a flag is passed
 * only for a setting the user's file does not set: what the user sets wins.
 * (Like wrangler, `.env` is read when there is no `.dev.vars`.)
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..");

/** What `npm run dev` uses for a setting that `.dev.vars` leaves unset. Never for production. */
export const DEV_DEFAULTS: Readonly<Record<string, string>> = {
  PUBLISH_TOKENS: "dev-token",
  ALLOWED_ORIGINS: "*",
  DEMO_ENABLED: "true",
  SUBSCRIBE_JWT_SECRET: "dev-subscribe-secret-do-not-use-in-production",
  PUBLISH_JWT_SECRET: "dev-publish-secret-do-not-use-in-production",
  // The Mercure hub at /.well-known/mercure; one resource identifier whatever host name reaches it.
  MERCURE_PUBLISHER_JWT_KEY: "dev-mercure-publisher-key-do-not-use-in-production",
  MERCURE_SUBSCRIBER_JWT_KEY: "dev-mercure-subscriber-key-do-not-use-in-production",
  // The iss of the tokens these keys verify (draft-08 binds each key to its issuer): your application.
  MERCURE_PUBLISHER_JWT_ISSUER: "http://localhost:8000",
  MERCURE_ANONYMOUS: "true",
  MERCURE_RESOURCE: "http://localhost:8787/.well-known/mercure",
};

/** The user's local settings: `.dev.vars`, else `.env`, else none. */
export function readDevVars(root = ROOT): Record<string, string> {
  for (const name of [".dev.vars", ".env"]) {
    const path = join(root, name);
    if (existsSync(path)) return parseDotenv(readFileSync(path, "utf8"));
  }
  return {};
}

/** `KEY=value` lines (optionally `export KEY=…`, quoted values); `#` comments and blank lines ignored. */
export function parseDotenv(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!match) continue;
    let value = match[2]!;
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.endsWith(quote) && value.length >= 2) value = value.slice(1, -1);
    else value = value.replace(/\s+#.*$/, "");
    vars[match[1]!] = value;
  }
  return vars;
}

/** `--var KEY:value` flags for the defaults the user's file does not set. */
export function devVarFlags(userVars: Record<string, string> = readDevVars()): string[] {
  return Object.entries(DEV_DEFAULTS)
    .filter(([key]) => !(key in userVars))
    .flatMap(([key, value]) => ["--var", `${key}:${value}`]);
}

/** The settings the local relay runs with: the defaults, overridden by the user's file. */
export function localVars(userVars: Record<string, string> = readDevVars()): Record<string, string> {
  return { ...DEV_DEFAULTS, ...userVars };
}

/** One line naming (never showing) the settings taken from the user's file. */
export function describeLocalVars(userVars: Record<string, string> = readDevVars()): string {
  const own = Object.keys(userVars);
  const defaults = Object.keys(DEV_DEFAULTS).filter((key) => !(key in userVars));
  return `local settings: ${own.length ? `from your .dev.vars: ${own.join(", ")}; ` : ""}dev defaults: ${defaults.join(", ") || "none"}`;
}
