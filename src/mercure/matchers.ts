/**
 * Topic matchers (draft-dunglas-mercure-08 §Matcher Types) and the
 * pre-standard topic selectors, compiled once per subscription or token and
 * matched without regular expressions: a Worker cannot time-limit a RegExp,
 * and the draft's §URL Pattern asks for a linear-time engine or a cost limit.
 * `*` matches every topic whatever the type.
 *
 * - `exact`: any string; case-sensitive, byte-for-byte, never resolved.
 * - `urlpattern`: a URL Pattern (WHATWG) string, relative ones resolved
 *   against the hub's URL, that the runtime's URLPattern accepts. Each of its
 *   eight components, as the runtime normalized it, is parsed as URL Pattern
 *   parses it (url-pattern.ts): literal text, `:name` groups, `*`, `{…}`
 *   groups, the modifiers `?` `+` `*`, and `(…)` regular expressions in their
 *   regular subset (regular.ts says which constructs are refused: back
 *   references, lookaround and other assertions, `\p{…}`…). A component of
 *   literal text, `:name` groups and `*` runs on LinearPattern (shift-and
 *   over code units, O(topic length x pattern length / 32)); any other on
 *   RegularPattern (a position automaton over code points, O(topic length x
 *   positions x positions / 32)). Topics are resolved against the hub's URL
 *   and compared component by component, as URLPattern.test would;
 *   `ignoreCase` is never on. Every matcher has a cost (the automaton's work
 *   per topic character); a subscription's or token's matchers together may
 *   not pass MERCURE_LIMITS.maxMatcherCost. URLPattern reads `:x` as a group
 *   even in `urn:x:…`, so URN topics are best selected with `exact`
 *   matchers.
 * - `uritemplate` (pre-standard mode): a topic equal to the selector matches;
 *   otherwise RFC 6570 level 1-2 expressions `{var}` (a run of unreserved
 *   characters, `%` and non-ASCII) and `{+var}` (also reserved characters,
 *   so it spans `/`). Refused with 400: other operators (`#./;?&`), several
 *   variables `{a,b}`, `*` explode and `:n` prefix modifiers. A selector that
 *   is not a template at all (unbalanced braces) matches only itself, as in
 *   the reference hub.
 */
import { badRequest } from "./errors";
import { parseFormEncoded } from "./form";
import { type Atom, type CodeUnitClass, LinearPattern } from "./linear-pattern";
import { type CodePointSet, type RegularNode, RegularPattern, seq, UnsupportedPattern } from "./regular";
import {
  type ComponentOptions,
  componentTree,
  DEFAULT_OPTIONS,
  HOSTNAME_OPTIONS,
  PATHNAME_OPTIONS,
} from "./url-pattern";
import { MERCURE_LIMITS } from "./limits";
import type { MercureMode } from "../config";
import { hasControlCharacter, hasForbiddenCharacter, WILDCARD } from "./protocol";

/** draft-08's matcher type names, in their canonical (lowercase) form; `uritemplate` is the pre-standard selectors'. */
export type MatcherType = "exact" | "urlpattern" | "uritemplate";

export interface Matcher {
  readonly type: MatcherType;
  /** The selector as given (what subscription events and payload selection name). */
  readonly pattern: string;
  /** Automaton words this matcher runs per topic character (0: a plain comparison); see MERCURE_LIMITS.maxMatcherCost. */
  readonly cost: number;
  matches(topic: string): boolean;
}

/**
 * Query parameter -> matcher type (draft-08 §Subscription: `match`, `match_<matcher-type>`,
 * case-sensitive); every other name starting with `match` in any case is refused.
 */
const DRAFT_PARAMETERS: Readonly<Record<string, MatcherType>> = {
  match: "exact",
  match_exact: "exact",
  match_urlpattern: "urlpattern",
};

export interface SubscribeLimits {
  readonly maxMatchers: number;
  readonly maxPatternLength: number;
  /** Default MERCURE_LIMITS.maxMatcherCost. */
  readonly maxMatcherCost?: number;
}

/**
 * The matchers of a subscription request: draft `match`, `match_exact`,
 * `match_urlpattern`, or legacy `topic` (URI templates). Refuses with 400 an
 * unknown name in the reserved `match` prefix (any case), invalid UTF-8,
 * control characters, too many or too long selectors, unsupported pattern
 * syntax, and a request with no selector. Identical selectors count once.
 */
export function parseSubscribeQuery(url: URL, mode: MercureMode, limits: SubscribeLimits, hubUrl: URL): Matcher[] {
  const matchers = new Map<string, Matcher>();
  let parameters = 0;
  let legacyTopics = 0;
  for (const [name, value] of parseFormEncoded(url.search.slice(1))) {
    let type: MatcherType | undefined;
    if (mode === "draft") {
      if (name.toLowerCase().startsWith("match")) {
        type = Object.hasOwn(DRAFT_PARAMETERS, name) ? DRAFT_PARAMETERS[name] : undefined;
        if (!type) {
          throw badRequest(
            `"${clip(name)}" is not a matcher parameter: use match, match_exact or match_urlpattern (names starting with "match", in any case, are reserved).`,
          );
        }
      } else if (name === "topic") {
        legacyTopics++;
      }
    } else if (name === "topic") {
      type = "uritemplate";
    }
    if (!type) continue;
    if (++parameters > limits.maxMatchers) {
      throw badRequest(`A subscription takes at most ${limits.maxMatchers} selectors.`);
    }
    const matcher = compileMatcher(type, value, hubUrl, limits.maxPatternLength);
    matchers.set(`${type} ${value}`, matcher);
  }
  const cost = matchingCost([...matchers.values()]);
  const maxCost = limits.maxMatcherCost ?? MERCURE_LIMITS.maxMatcherCost;
  if (cost > maxCost) {
    throw badRequest(
      `These patterns are too complex together (cost ${cost}, at most ${maxCost}): use fewer or shorter URL patterns, or exact topics.`,
    );
  }
  if (matchers.size === 0) {
    throw badRequest(
      mode === "legacy"
        ? "Give at least one topic selector: ?topic=<topic or URI template>."
        : legacyTopics > 0
          ? "This hub speaks draft-dunglas-mercure-08: select topics with match=<topic> or match_urlpattern=<pattern>, not topic= (the pre-standard protocol is a setting, MERCURE_PROTOCOL=legacy)."
          : "Give at least one topic matcher: ?match=<topic> or ?match_urlpattern=<pattern>.",
    );
  }
  return [...matchers.values()];
}

/**
 * Compiles one selector; 400 for a pattern past `maxPatternLength`, a forbidden character (draft-08
 * §Subscription: C0, DEL, C1 and Cf; control characters only for pre-standard selectors), or a
 * pattern this hub cannot match.
 */
export function compileMatcher(
  type: MatcherType,
  pattern: string,
  hubUrl: URL,
  maxPatternLength: number = MERCURE_LIMITS.maxPatternLength,
): Matcher {
  if (pattern.length > maxPatternLength) {
    throw badRequest(`A topic matcher is at most ${maxPatternLength} characters long.`);
  }
  if (type === "uritemplate" ? hasControlCharacter(pattern) : hasForbiddenCharacter(pattern)) {
    throw badRequest(
      type === "uritemplate"
        ? "A topic selector must not contain control characters (U+0000-U+001F, U+007F-U+009F)."
        : "A topic matcher must not contain control characters (U+0000-U+001F, U+007F-U+009F) or Unicode format characters (Cf).",
    );
  }
  if (pattern === WILDCARD) return { type, pattern, cost: 0, matches: () => true };
  switch (type) {
    case "exact":
      return { type, pattern, cost: 0, matches: (topic) => topic === pattern };
    case "urlpattern":
      return compileUrlPattern(pattern, hubUrl);
    case "uritemplate":
      return compileUriTemplate(pattern);
  }
}

/**
 * The cost of matching a topic against all of `matchers`, per topic character: what
 * MERCURE_LIMITS.maxMatcherCost caps for a subscription or a token, and what a stream is charged
 * for each update (src/mercure/view.ts). The one place that adds matchers' costs up.
 */
export function matchingCost(matchers: readonly Matcher[]): number {
  return matchers.reduce((sum, matcher) => sum + matcher.cost, 0);
}

/** True if one of the matchers matches one of the topics. */
export function matchesAny(matchers: readonly Matcher[], topics: readonly string[]): boolean {
  return matchers.some((matcher) => topics.some((topic) => matcher.matches(topic)));
}

// --- URL patterns ------------------------------------------------------------

const COMPONENTS = ["protocol", "username", "password", "hostname", "port", "pathname", "search", "hash"] as const;
type Component = (typeof COMPONENTS)[number];
type ComponentTest = (value: string) => boolean;
interface Compiled {
  readonly test: ComponentTest;
  readonly cost: number;
}

const ANY: CodeUnitClass = () => true;
const NOT_SLASH: CodeUnitClass = (unit) => unit !== 0x2f;
const NOT_DOT: CodeUnitClass = (unit) => unit !== 0x2e;
const SPECIAL_SCHEMES = ["http", "https", "ws", "wss", "ftp", "file"];

function compileUrlPattern(pattern: string, hubUrl: URL): Matcher {
  let parsed: URLPattern;
  try {
    parsed = new URLPattern(pattern, hubUrl.href);
  } catch {
    throw badRequest(`"${clip(pattern)}" is not a valid URL pattern.`);
  }
  const protocol = compileComponent("protocol", parsed.protocol, DEFAULT_OPTIONS);
  // URL Pattern §"compile a component": a pathname splits at / when the protocol can be a special scheme.
  const special = SPECIAL_SCHEMES.some((scheme) => protocol.test(scheme));
  const compiled = COMPONENTS.map((component): [Component, Compiled] => {
    if (component === "protocol") return [component, protocol];
    const options =
      component === "hostname"
        ? HOSTNAME_OPTIONS
        : component === "pathname" && special
          ? PATHNAME_OPTIONS
          : DEFAULT_OPTIONS;
    return [component, compileComponent(component, parsed[component], options)];
  });
  // Cheapest components first: most topics fail on a literal host or protocol.
  compiled.sort(([, a], [, b]) => a.cost - b.cost);
  const tests = compiled.map(([component, { test }]): [Component, ComponentTest] => [component, test]);
  return {
    type: "urlpattern",
    pattern,
    cost: compiled.reduce((sum, [, { cost }]) => sum + cost, 0),
    matches(topic) {
      const parts = topicComponents(topic, hubUrl);
      return parts !== null && tests.every(([component, test]) => test(parts[component]));
    },
  };
}

/**
 * One component of a URL pattern, as the runtime normalized it: literal text, `:name` groups and
 * `*` run on LinearPattern (code units; the fast path of nearly every pattern); anything else
 * (optional or repeated groups, `(…)` regular expressions) on RegularPattern (code points).
 */
function compileComponent(component: Component, source: string, options: ComponentOptions): Compiled {
  let tree: RegularNode;
  try {
    tree = componentTree(source, options);
    const atoms = flatAtoms(tree);
    return atoms === null ? compileRegular(tree) : testFor(atoms);
  } catch (error) {
    if (!(error instanceof UnsupportedPattern)) throw error;
    throw badRequest(
      `URL patterns here run without backtracking, so regular expression groups must be regular; the ${component} "${clip(source)}" uses ${error.message}.`,
    );
  }
}

/** The tree as LinearPattern atoms, when it is a sequence of characters and wildcard runs; else null. */
function flatAtoms(tree: RegularNode): Atom[] | null {
  const atoms: Atom[] = [];
  for (const item of tree.kind === "seq" ? tree.items : [tree]) {
    if (item.kind === "char") {
      for (const unit of String.fromCodePoint(item.codePoint))
        atoms.push({ kind: "literal", codeUnit: unit.charCodeAt(0) });
      continue;
    }
    if (item.kind !== "repeat" || item.node.kind !== "set" || item.max !== Infinity || item.min > 1) return null;
    const accepts = wildcardClass(item.node.set);
    if (accepts === null) return null;
    if (item.min === 1) atoms.push({ kind: "one", accepts });
    const previous = atoms.at(-1);
    if (previous?.kind === "run") {
      if (previous.accepts !== accepts) return null;
    } else {
      atoms.push({ kind: "run", accepts });
    }
  }
  return atoms;
}

/** The URL pattern wildcards' sets, as LinearPattern's classes (a class per set, compared by identity). */
function wildcardClass(set: CodePointSet): CodeUnitClass | null {
  if (set.negated && set.ranges.length === 0) return ANY;
  if (set.negated && set.ranges.length === 1 && set.ranges[0]![0] === set.ranges[0]![1]) {
    if (set.ranges[0]![0] === 0x2f) return NOT_SLASH;
    if (set.ranges[0]![0] === 0x2e) return NOT_DOT;
  }
  return null;
}

/**
 * A component RegularPattern runs: the literal characters it starts and ends with are compared as
 * strings, the rest runs through the automaton. Cost: its worst-case word operations per code point
 * over 6, LinearPattern's per word, rounded up.
 */
function compileRegular(tree: RegularNode): Compiled {
  const items = tree.kind === "seq" ? tree.items : [tree];
  let start = 0;
  while (items[start]?.kind === "char") start++;
  let end = items.length;
  while (end > start && items[end - 1]!.kind === "char") end--;
  const text = (part: readonly RegularNode[]) =>
    String.fromCodePoint(...part.map((item) => (item.kind === "char" ? item.codePoint : 0)));
  const prefix = text(items.slice(0, start));
  const suffix = text(items.slice(end));
  const automaton = new RegularPattern(seq(items.slice(start, end)));
  return {
    cost: Math.ceil(automaton.workPerCodePoint / 6),
    test: (value) =>
      value.length >= prefix.length + suffix.length &&
      value.startsWith(prefix) &&
      value.endsWith(suffix) &&
      automaton.matches(value.slice(prefix.length, value.length - suffix.length)),
  };
}

/**
 * Literal-only atoms are a comparison and a lone `*` is always true; otherwise
 * the literal prefix and suffix are compared as strings and only the middle
 * runs through the automaton.
 */
function testFor(atoms: readonly Atom[]): Compiled {
  const isLiteral = (atom: Atom | undefined) => atom?.kind === "literal";
  const text = (part: readonly Atom[]) =>
    String.fromCharCode(...part.map((atom) => (atom.kind === "literal" ? atom.codeUnit : 0)));
  if (atoms.every(isLiteral)) {
    const literal = text(atoms);
    return { cost: 0, test: (value) => value === literal };
  }
  if (atoms.length === 1 && atoms[0]!.kind === "run" && atoms[0]!.accepts === ANY) return { cost: 0, test: () => true };
  let start = 0;
  while (isLiteral(atoms[start])) start++;
  let end = atoms.length;
  while (isLiteral(atoms[end - 1])) end--;
  const prefix = text(atoms.slice(0, start));
  const suffix = text(atoms.slice(end));
  const automaton = new LinearPattern(atoms.slice(start, end));
  return {
    cost: automaton.words,
    test: (value) =>
      value.length >= prefix.length + suffix.length &&
      value.startsWith(prefix) &&
      value.endsWith(suffix) &&
      automaton.matches(value.slice(prefix.length, value.length - suffix.length)),
  };
}

type TopicComponents = Record<Component, string>;

/** The last topic parsed: a hub matches one update's topic against many matchers in a row. */
let lastTopic: { topic: string; base: URL; parts: TopicComponents | null } | undefined;

/** A topic's URL components as URLPattern compares them (relative topics resolved against the hub's URL). */
function topicComponents(topic: string, hubUrl: URL): TopicComponents | null {
  if (lastTopic?.topic === topic && lastTopic.base === hubUrl) return lastTopic.parts;
  let parts: TopicComponents | null = null;
  try {
    const url = new URL(topic, hubUrl);
    parts = {
      protocol: url.protocol.slice(0, -1),
      username: url.username,
      password: url.password,
      hostname: url.hostname,
      port: url.port,
      pathname: url.pathname,
      search: url.search.slice(1),
      hash: url.hash.slice(1),
    };
  } catch {
    parts = null;
  }
  lastTopic = { topic, base: hubUrl, parts };
  return parts;
}

// --- URI templates (pre-standard) -------------------------------------------

/** RFC 6570 simple expansion output: unreserved, `%` of pct-encoded triplets, and non-ASCII (IRIs). */
const UNRESERVED: CodeUnitClass = (unit) =>
  (unit >= 0x30 && unit <= 0x39) ||
  (unit >= 0x41 && unit <= 0x5a) ||
  (unit >= 0x61 && unit <= 0x7a) ||
  unit === 0x2d ||
  unit === 0x2e ||
  unit === 0x5f ||
  unit === 0x7e ||
  unit === 0x25 ||
  unit >= 0x80;
/** RFC 6570 reserved expansion output: the above plus gen-delims and sub-delims. */
const RESERVED: CodeUnitClass = (unit) => UNRESERVED(unit) || ":/?#[]@!$&'()*+,;=".includes(String.fromCharCode(unit));
const VARIABLE = /^\+?(?:[A-Za-z0-9_]|%[0-9A-Fa-f]{2})+(?:\.(?:[A-Za-z0-9_]|%[0-9A-Fa-f]{2})+)*$/;

function compileUriTemplate(pattern: string): Matcher {
  if (!isTemplate(pattern)) return { type: "uritemplate", pattern, cost: 0, matches: (topic) => topic === pattern };
  const atoms: Atom[] = [];
  let index = 0;
  while (index < pattern.length) {
    const character = pattern[index]!;
    if (character !== "{") {
      atoms.push({ kind: "literal", codeUnit: pattern.charCodeAt(index) });
      index++;
      continue;
    }
    const end = pattern.indexOf("}", index);
    const expression = pattern.slice(index + 1, end);
    if (!VARIABLE.test(expression)) {
      throw badRequest(
        `URI templates here support {var} and {+var} only; "${clip(expression)}" uses another operator, several variables or a modifier.`,
      );
    }
    const accepts = expression.startsWith("+") ? RESERVED : UNRESERVED;
    const previous = atoms.at(-1);
    if (previous?.kind === "run") {
      // {a}{b} matches what one run of the wider class matches.
      if (accepts === RESERVED) atoms[atoms.length - 1] = { kind: "run", accepts };
    } else {
      atoms.push({ kind: "run", accepts });
    }
    index = end + 1;
  }
  const { test, cost } = testFor(atoms);
  return { type: "uritemplate", pattern, cost, matches: (topic) => topic === pattern || test(topic) };
}

/** Braces that pair up, none nested: anything else is a plain topic string to the reference hub. */
function isTemplate(pattern: string): boolean {
  let open = false;
  let expressions = 0;
  for (const character of pattern) {
    if (character === "{") {
      if (open) return false;
      open = true;
    } else if (character === "}") {
      if (!open) return false;
      open = false;
      expressions++;
    }
  }
  return !open && expressions > 0;
}

function clip(text: string): string {
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}
