/**
 * The Quick start invites `cp .dev.vars.example .dev.vars`: as copied, the
 * file must change nothing, or every README example (`Bearer dev-token`)
 * answers 401. Every setting in it stays commented out.
 */
import { readFileSync } from "node:fs";
import { expect, it } from "vitest";

it(".dev.vars.example sets nothing until it is edited", () => {
  const active = readFileSync(".dev.vars.example", "utf8")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
  expect(active).toEqual([]);
});
