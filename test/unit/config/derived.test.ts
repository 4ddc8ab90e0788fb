/**
 * What the settings table (src/config/settings.ts) derives, checked: the
 * generated docs/CONFIGURATION.md is current, and every `[vars]` block of
 * wrangler.toml names known settings with values that parse and differ from
 * the defaults (a restated default is a second copy of a fact that drifts).
 * Node-typed (tsconfig.node.json): it reads files and wrangler's own parser.
 */
import { readFileSync } from "node:fs";
import { isDeepStrictEqual } from "node:util";
import { describe, expect, it } from "vitest";
import { CONFIGURATION_DOC, renderConfigurationDoc } from "../../../scripts/docs-config.ts";
import { varsBlocks } from "../../../scripts/wrangler-config.ts";
import { parseConfig } from "../../../src/config/parse.ts";
import { DEPRECATED_NAMES, isKnownSetting, type RawConfig, SETTINGS } from "../../../src/config/settings.ts";

describe("docs/CONFIGURATION.md", () => {
  it("is what `npm run docs:config` writes from the settings table", () => {
    expect(readFileSync(CONFIGURATION_DOC, "utf8"), "stale: run `npm run docs:config`").toBe(renderConfigurationDoc());
  });
});

/** What is wrong with one `[vars]` block (empty: nothing). */
function varsProblems(vars: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const [name, value] of Object.entries(vars)) {
    if (!isKnownSetting(name)) problems.push(`${name} is not a setting (src/config/settings.ts)`);
    else if (Object.hasOwn(DEPRECATED_NAMES, name)) problems.push(`${name} is deprecated: use its replacement`);
    else if (typeof value !== "string") problems.push(`${name} must be a quoted string, got ${JSON.stringify(value)}`);
    else {
      const setting = SETTINGS[name as keyof typeof SETTINGS];
      if (setting.secret) problems.push(`${name} is a secret: set it with wrangler secret put`);
      try {
        if (isDeepStrictEqual(setting.parse(value), setting.parse(undefined))) {
          problems.push(`${name} = ${JSON.stringify(value)} restates the default: remove it`);
        }
      } catch (error) {
        problems.push(`${name} = ${JSON.stringify(value)} does not parse: ${(error as Error).message}`);
      }
    }
  }
  if (problems.length > 0) return problems;
  // Together, too: the rules across settings (shard hosts, credentials and origins…).
  try {
    parseConfig(vars as RawConfig);
  } catch (error) {
    problems.push((error as Error).message);
  }
  return problems;
}

describe("wrangler.toml [vars]", () => {
  const blocks = varsBlocks();

  it("has the blocks of the top level and each environment", () => {
    expect(blocks.map(({ block }) => block)).toEqual(["[vars]", "[env.production.vars]", "[env.workers-dev.vars]"]);
  });

  it.each(blocks)("$block names only settings, as strings that parse and differ from the defaults", ({ vars }) => {
    expect(varsProblems(vars)).toEqual([]);
  });

  it("the check finds each kind of mistake", () => {
    expect(
      varsProblems({
        HEARTBAET_MS: "1000",
        MAX_BUFFERED_BYTES: "4096",
        SHARDS: 8,
        PUBLISH_TOKENS: "abcdef",
        RETRY_MS: "2000",
        PRIVATE_CHANNEL_PREFIXES: "private-",
        HISTORY_LIMIT: "0",
      }),
    ).toEqual([
      "HEARTBAET_MS is not a setting (src/config/settings.ts)",
      "MAX_BUFFERED_BYTES is deprecated: use its replacement",
      "SHARDS must be a quoted string, got 8",
      "PUBLISH_TOKENS is a secret: set it with wrangler secret put",
      'RETRY_MS = "2000" restates the default: remove it',
      'PRIVATE_CHANNEL_PREFIXES = "private-" restates the default: remove it',
      'HISTORY_LIMIT = "0" does not parse: must be a whole number from 1 to 1000000',
    ]);
    expect(varsProblems({ RELAY_HOSTS: "sse{n}.example.com" })).toEqual([expect.stringMatching(/^RELAY_HOSTS /)]);
  });
});
