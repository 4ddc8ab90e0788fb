/**
 * `npm run dev`: `wrangler dev` with the local defaults of scripts/dev-vars.ts
 * for whatever your `.dev.vars` does not set (your values win).
 * Extra arguments reach wrangler, e.g. `npm run dev -- --port 9000`.
 */
import { spawn } from "node:child_process";
import { describeLocalVars, devVarFlags } from "./dev-vars.ts";

console.log(describeLocalVars());
const wrangler = spawn("wrangler", ["dev", ...devVarFlags(), ...process.argv.slice(2)], {
  stdio: "inherit",
  env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
});
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => wrangler.kill(signal));
wrangler.on("exit", (code) => process.exit(code ?? 0));
