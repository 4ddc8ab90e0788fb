/** public/client.d.ts (the client module's types for TypeScript pages) must match public/client.js. */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");

it("public/client.d.ts is generated from public/client.js (npm run build:client-types)", () => {
  const out = mkdtempSync(join(tmpdir(), "client-types-"));
  try {
    execFileSync(
      process.execPath,
      [join(ROOT, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.client.json", "--outDir", out],
      { cwd: ROOT, stdio: "pipe" },
    );
    expect(readFileSync(join(out, "client.d.ts"), "utf8")).toBe(readFileSync(join(ROOT, "public/client.d.ts"), "utf8"));
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
