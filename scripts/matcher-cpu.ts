/**
 * What one unit of Mercure matcher cost (MERCURE_LIMITS.maxMatcherCost) costs in CPU per topic
 * character: the figure behind CPU_MODEL.matcherNanos (src/edge/cpu-model.ts) and the default cap.
 * workerd freezes its clock while code runs, so the pure matcher code is timed here, in Node (the
 * same V8), on hostile but accepted patterns, each matched against topics at the length limit that
 * it scans to the end: ASCII, and non-ASCII (a URL percent-encodes each such character into up to
 * nine). Prints, per family, nanoseconds per cost unit per topic character; the largest is the
 * one to model (docs/MERCURE.md, "What matching costs"). A measurement to rerun by hand, on a quiet
 * machine, not a test: `npx node --experimental-transform-types scripts/matcher-cpu.ts` (src/ uses
 * TypeScript parameter properties, which plain type stripping refuses).
 */
import { registerHooks } from "node:module";

// src/ imports without extensions (the bundler resolves them): resolve them to their .ts files.
registerHooks({
  resolve(specifier, context, next) {
    try {
      return next(specifier, context);
    } catch (error) {
      if (!specifier.startsWith(".")) throw error;
      return next(`${specifier}.ts`, context);
    }
  },
});

const { compileMatcher } = await import("../src/mercure/matchers.ts");
const { MERCURE_LIMITS } = await import("../src/mercure/limits.ts");

const HUB = new URL("https://hub.example/.well-known/mercure");
const LENGTH = MERCURE_LIMITS.maxFieldLength;
const ROUNDS = 9;
const CALLS = 40;

/** Hostile pattern families: each one's automaton stays busy on every character of the topics below. */
const FAMILIES: Record<string, (size: number) => string> = {
  // Every alternative accepts nearly everything: all positions active at each character.
  alternatives: (size) => `/(${Array.from({ length: size }, (_, i) => `[^${letter(i)}]`).join("|")})*`,
  // Distinct sets with many ranges below the topic's characters: each membership test scans them all.
  ranges: (size) => `/(${Array.from({ length: size }, (_, i) => `[^${rangesBelow(i)}]`).join("|")})*`,
  // A long sequence of wildcards with a literal tail that never comes: RegularPattern, many positions.
  sequence: (size) => `/(${".*".repeat(size)}z)`,
  // Optional groups: RegularPattern with a few positions, all alive to the end.
  optional: (size) => `/${"{:a}?".repeat(1)}${Array.from({ length: size }, (_, i) => `{-:b${i}}?`).join("")}`,
  // Named groups and wildcards only: LinearPattern (shift-and), many words.
  linear: (size) =>
    `/${Array.from({ length: size }, () => ":a(.*)")
      .join("-")
      .replace(/:a/g, (_, i) => `:a${i}`)}`,
};

function letter(i: number): string {
  return String.fromCharCode(0x61 + (i % 26));
}

/** Single-character ranges of punctuation below `%`, `0-9`, `A-F`: all scanned before a miss. */
function rangesBelow(i: number): string {
  const below = ["!", '"', "#", "\\$"];
  return below.slice(0, 1 + (i % below.length)).join("");
}

const TOPICS: Record<string, string> = {
  ascii: `https://hub.example/${"a".repeat(LENGTH - 20)}`,
  "non-ASCII": `https://hub.example/${"一".repeat(LENGTH - 20)}`,
};

interface Row {
  family: string;
  size: number;
  cost: number;
  topic: string;
  nsPerUnitChar: number;
}

const rows: Row[] = [];
/** A topic's URL parse, once per update whatever the matchers (ns per topic character). */
const parses: Array<{ topic: string; nsPerChar: number }> = [];
for (const [family, make] of Object.entries(FAMILIES)) {
  for (const size of [2, 4, 8, 16, 32]) {
    let matcher: ReturnType<typeof compileMatcher>;
    try {
      matcher = compileMatcher("urlpattern", make(size), HUB);
    } catch {
      continue; // refused (too long, too many positions): not an accepted pattern
    }
    if (matcher.cost === 0) continue;
    for (const [name, topic] of Object.entries(TOPICS)) {
      // CPU time (this process's, not the wall clock's: the machine is shared), over enough calls to
      // read it. Matchers cache the last topic's URL components: alternating two topics makes every
      // call parse; repeating one makes every call only match.
      const other = `${topic.slice(0, -1)}b`;
      const both = cpuNanos(() => {
        matcher.matches(topic);
        matcher.matches(other);
      });
      const match = cpuNanos(() => {
        matcher.matches(topic);
        matcher.matches(topic);
      });
      parses.push({ topic: name, nsPerChar: Math.max(0, both - match) / 2 / topic.length });
      rows.push({
        family,
        size,
        cost: matcher.cost,
        topic: name,
        nsPerUnitChar: match / 2 / (matcher.cost * topic.length),
      });
    }
  }
}

/** CPU nanoseconds one call of `run` takes: the median of ROUNDS rounds of CALLS calls, after a warm-up. */
function cpuNanos(run: () => void): number {
  for (let call = 0; call < CALLS; call++) run();
  const rounds: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const start = process.cpuUsage();
    for (let call = 0; call < CALLS; call++) run();
    const used = process.cpuUsage(start);
    rounds.push(((used.user + used.system) * 1000) / CALLS);
  }
  return median(rounds);
}

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
}

rows.sort((a, b) => b.nsPerUnitChar - a.nsPerUnitChar);
console.log("family        size cost topic       ns per cost unit per topic character");
for (const row of rows) {
  console.log(
    `${row.family.padEnd(13)} ${String(row.size).padStart(4)} ${String(row.cost).padStart(4)} ${row.topic.padEnd(11)} ${row.nsPerUnitChar.toFixed(2)}`,
  );
}
for (const topic of Object.keys(TOPICS)) {
  const parse = median(parses.filter((row) => row.topic === topic).map((row) => row.nsPerChar));
  console.log(`URL parse of a ${topic} topic, once per update: ${parse.toFixed(1)} ns per character`);
}
const worst = rows[0]!;
console.log(
  `\nworst: ${worst.nsPerUnitChar.toFixed(1)} ns (${worst.family}, size ${worst.size}, ${worst.topic}); ` +
    `at that rate 1 ms per update on a ${LENGTH}-character topic allows a cost of ${Math.floor(1e6 / (worst.nsPerUnitChar * LENGTH))}.`,
);
