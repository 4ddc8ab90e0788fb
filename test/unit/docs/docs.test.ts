/**
 * The documents stay true to the tree: docs/ARCHITECTURE.md's layout table
 * has one row per file of `git ls-files src`, no more, no less; and every
 * relative link in README.md and docs/*.md reaches an existing file, and a
 * heading there when it names one (GitHub's anchors).
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../../..");
const DOCUMENTS = [
  "README.md",
  ...readdirSync(join(ROOT, "docs")).flatMap((f) => (f.endsWith(".md") ? [`docs/${f}`] : [])),
];

/** The text outside fenced code blocks and inline code, where links are links. */
function prose(markdown: string): string {
  return markdown.replace(/^```[^\n]*\n[\s\S]*?^```$/gm, "").replace(/`[^`\n]*`/g, "");
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens; repeats get -1, -2… */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const [, heading] of markdown.replace(/^```[^\n]*\n[\s\S]*?^```$/gm, "").matchAll(/^#{1,6} (.+)$/gm)) {
    const slug = heading!
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, "")
      .replace(/ /g, "-");
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    result.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return result;
}

/** The paths in the first column of the table under docs/ARCHITECTURE.md's "Layout of src/" heading. */
function layoutRows(): string[] {
  const text = readFileSync(join(ROOT, "docs/ARCHITECTURE.md"), "utf8");
  const start = text.indexOf("\n## Layout of src/");
  expect(start, 'docs/ARCHITECTURE.md has a "## Layout of src/" section').toBeGreaterThan(-1);
  const section = text.slice(start + 1).split(/\n## /)[0]!;
  return [...section.matchAll(/^\| `(src\/[^`]+)` \|/gm)].map((m) => m[1]!);
}

describe("documents", () => {
  it("docs/ARCHITECTURE.md's layout table lists exactly the files of src/", () => {
    const rows = layoutRows();
    const files = execFileSync("git", ["ls-files", "src"], { cwd: ROOT, encoding: "utf8" }).split("\n").filter(Boolean);
    expect(
      {
        missing: files.filter((f) => !rows.includes(f)),
        extra: rows.filter((r) => !files.includes(r)),
        twice: rows.filter((r, i) => rows.indexOf(r) !== i),
      },
      "rows to add to or remove from docs/ARCHITECTURE.md",
    ).toEqual({ missing: [], extra: [], twice: [] });
  });

  it("every relative link in README.md and docs/ reaches a file, and its heading", () => {
    const broken: string[] = [];
    for (const document of DOCUMENTS) {
      const text = readFileSync(join(ROOT, document), "utf8");
      for (const [, target] of prose(text).matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target!)) continue; // https:, mailto:
        const [path, anchor] = target!.split("#") as [string, string | undefined];
        const file = path === "" ? join(ROOT, document) : resolve(dirname(join(ROOT, document)), path);
        if (!existsSync(file)) broken.push(`${document}: ${target} (no file ${relative(ROOT, file)})`);
        else if (anchor !== undefined && file.endsWith(".md") && !anchors(readFileSync(file, "utf8")).has(anchor))
          broken.push(`${document}: ${target} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });
});
