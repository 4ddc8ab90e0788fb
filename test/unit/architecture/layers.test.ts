/**
 * Folder-level import rules for src/ (issue 19, M2): each folder sits in a
 * layer and imports only from layers below it, so a reader can learn the
 * code bottom-up and no change in a low folder needs a high one. A root
 * file counts as its own unit (`config.ts`, `log.ts`…). Type-only imports
 * count: they are arrows a reader follows too.
 *
 * Fails, printing the imports at fault, on an arrow that goes up (or to a
 * folder no layer lists) unless ALLOWED names it with its reason, on a loop
 * between units that ALLOWED does not explain, and on an ALLOWED arrow no
 * import uses any more (delete it: the rule got stricter).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const SRC = join(import.meta.dirname, "../../../src");

/** Top to bottom. Units in one layer may import each other (loops between them still fail). */
const LAYERS: readonly (readonly string[])[] = [
  ["index.ts"], // the Worker's entry: exports the app and the two Durable Object classes
  ["routes"], // every route handler: /v1, the Mercure hub, home, OpenAPI, demo, test hooks
  ["http"], // middleware and request parsing: auth, CORS, hosts, body limits, validation, publish bodies
  ["mercure"], // the Mercure protocol core and one subscriber's view of the hub's log
  ["edge"], // the Worker's side of a stream: attach, bridged and multi-channel streams
  ["objects"], // the Durable Objects (channel, fan-out) and the sockets they hold
  ["redis"], // ingestion from Redis Streams, run by the channel object
  ["channel"], // the channel's logic: history, replay, presence, fan-out registry, client shares, direct mode
  ["protocol"], // the Worker<->object contract: bridge messages, headers, refusals, the stub lookup
  ["stream"], // one outgoing stream: outlet, clock, close reasons, stall rule
  ["events"], // what an event is: the publisher's input, its rules, the relay's own events
  ["sse"], // the SSE wire format
  ["config", "env.ts", "shard-hosts.ts"], // settings and bindings
  ["log.ts", "once-per.ts", "error-response.ts"], // leaves every layer may use
];

/**
 * Arrows against the layering, "from -> to", each with why it is there. At most two (issue 19);
 * none today.
 */
const ALLOWED: Readonly<Record<string, string>> = {};

interface Arrow {
  readonly from: string;
  readonly to: string;
  /** One import that makes the arrow, for the message. */
  readonly example: string;
}

describe("folder layers of src/", () => {
  const arrows = importArrows();

  it("imports only downwards, except the arrows ALLOWED explains", () => {
    const rank = new Map(LAYERS.flatMap((units, index) => units.map((unit) => [unit, index] as const)));
    const wrong = arrows.filter(({ from, to }) => {
      const [above, below] = [rank.get(from), rank.get(to)];
      if (above === undefined || below === undefined) return true;
      return above > below && ALLOWED[`${from} -> ${to}`] === undefined;
    });
    expect(
      wrong.map(({ from, to, example }) =>
        rank.has(from) && rank.has(to)
          ? `${from} -> ${to} goes up the layers: ${example}`
          : `${rank.has(from) ? to : from} is in no layer (add it to LAYERS): ${example}`,
      ),
    ).toEqual([]);
    expect(Object.keys(ALLOWED).length).toBeLessThanOrEqual(2);
  });

  it("has no loop between units, other than through an ALLOWED arrow", () => {
    const strict = arrows.filter(({ from, to }) => ALLOWED[`${from} -> ${to}`] === undefined);
    expect(
      loops(strict).map(
        (loop) =>
          `a loop among ${[...new Set(loop.map(({ from }) => from))].join(", ")}, by these imports:\n  ${loop.map(({ example }) => example).join("\n  ")}`,
      ),
    ).toEqual([]);
  });

  it("lists no ALLOWED arrow that no import uses", () => {
    const used = new Set(arrows.map(({ from, to }) => `${from} -> ${to}`));
    const unused = Object.keys(ALLOWED).filter((arrow) => !used.has(arrow));
    expect(unused, "no import needs these any more: delete them from ALLOWED").toEqual([]);
  });
});

/** Every unit-to-unit import in src/, once per pair. */
function importArrows(): Arrow[] {
  const arrows = new Map<string, Arrow>();
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, "utf8");
    for (const { fileName: specifier } of ts.preProcessFile(text, true, true).importedFiles) {
      if (!specifier.startsWith(".")) continue;
      const target = resolveModule(dirname(file), specifier);
      if (target === null) throw new Error(`${relative(SRC, file)}: cannot resolve "${specifier}"`);
      const [from, to] = [unitOf(file), unitOf(target)];
      if (from === to || arrows.has(`${from} -> ${to}`)) continue;
      arrows.set(`${from} -> ${to}`, {
        from,
        to,
        example: `src/${relative(SRC, file)} imports "${specifier}"`,
      });
    }
  }
  return [...arrows.values()];
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|js|mjs)$/.test(name) ? [path] : [];
  });
}

function resolveModule(from: string, specifier: string): string | null {
  const base = join(from, specifier);
  for (const candidate of [base, `${base}.ts`, base.replace(/\.js$/, ".ts"), join(base, "index.ts")]) {
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not this one
    }
  }
  return null;
}

/** The folder under src/ a file is in, or the file's own name at src/'s root. */
function unitOf(file: string): string {
  return relative(SRC, file).split(/[\\/]/)[0]!;
}

/** Each loop between units (a strongly connected component of more than one), as the arrows inside it. */
function loops(arrows: readonly Arrow[]): Arrow[][] {
  const next = new Map<string, string[]>();
  for (const { from, to } of arrows) next.set(from, [...(next.get(from) ?? []), to]);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const found: Arrow[][] = [];
  const visit = (unit: string) => {
    index.set(unit, index.size);
    low.set(unit, index.get(unit)!);
    stack.push(unit);
    for (const to of next.get(unit) ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(unit, Math.min(low.get(unit)!, low.get(to)!));
      } else if (stack.includes(to)) {
        low.set(unit, Math.min(low.get(unit)!, index.get(to)!));
      }
    }
    if (low.get(unit) !== index.get(unit)) return;
    const members = new Set<string>();
    let member: string;
    do {
      member = stack.pop()!;
      members.add(member);
    } while (member !== unit);
    if (members.size > 1) found.push(arrows.filter(({ from, to }) => members.has(from) && members.has(to)));
  };
  for (const unit of next.keys()) if (!index.has(unit)) visit(unit);
  return found;
}
