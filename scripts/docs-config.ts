/**
 * `npm run docs:config [-- --check]`
 *
 * Writes docs/CONFIGURATION.md from the settings table
 * (src/config/settings.ts): one plain markdown table per section, so the
 * docs say exactly what the relay parses. With --check it changes nothing
 * and exits 1 when the file is stale; a unit test (test/unit/config/) does
 * the same in `npm test`.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { DEPRECATED_NAMES, SECTIONS, SETTINGS, type SettingName } from "../src/config/settings.ts";
import { ROOT } from "./wrangler-config.ts";

export const CONFIGURATION_DOC = resolve(ROOT, "docs/CONFIGURATION.md");

const INTRO = `# Configuration

<!-- Generated from src/config/settings.ts by \`npm run docs:config\`; edit the table there, not this file. -->

Plain settings are \`[vars]\` in \`wrangler.toml\` (each environment lists only what differs from the
defaults below; \`npm test\` checks that every name is a setting and its value parses). Secrets are set
with \`wrangler secret put NAME\` and never live in that file; locally, in \`.dev.vars\`.

Values are validated once; a bad one makes every request answer \`500 {"error": "config_invalid"}\` with
the variable named, and is logged. The message shows the offending value only for settings that are
not secret. Integers are whole numbers within the bounds given; booleans are \`true\` or \`false\`;
lists are comma-separated, entries trimmed.
`;

/** A table cell: pipes escaped, nothing else changed. */
function cell(text: string): string {
  return text.replaceAll("|", "\\|");
}

function row(cells: readonly string[]): string {
  return `| ${cells.map(cell).join(" | ")} |`;
}

/** The whole document, from the table. */
export function renderConfigurationDoc(): string {
  const names = Object.keys(SETTINGS) as SettingName[];
  const parts = [INTRO];
  for (const [section, title] of Object.entries(SECTIONS)) {
    const rows = [row(["Variable", "Default", "Kind", "Meaning"]), "| --- | --- | --- | --- |"];
    for (const name of names.filter((each) => SETTINGS[each].section === section)) {
      const setting = SETTINGS[name];
      rows.push(row([`\`${name}\``, setting.fallback, setting.kind, setting.doc]));
      for (const [old, replacement] of Object.entries(DEPRECATED_NAMES)) {
        if (replacement !== name) continue;
        rows.push(
          row([
            `\`${old}\``,
            "(none)",
            "deprecated",
            `Read as \`${name}\` when that is not set (a \`deprecated setting\` line is logged).`,
          ]),
        );
      }
    }
    parts.push(`## ${title}\n\n${rows.join("\n")}\n`);
  }
  return parts.join("\n");
}

function main(): number {
  const { values } = parseArgs({ options: { check: { type: "boolean", default: false } } });
  const doc = renderConfigurationDoc();
  if (values.check) {
    if (existsSync(CONFIGURATION_DOC) && readFileSync(CONFIGURATION_DOC, "utf8") === doc) return 0;
    console.error("docs/CONFIGURATION.md is stale: run `npm run docs:config`.");
    return 1;
  }
  writeFileSync(CONFIGURATION_DOC, doc);
  console.log(`docs/CONFIGURATION.md: ${Object.keys(SETTINGS).length} settings written.`);
  return 0;
}

if (import.meta.main) process.exitCode = main();
