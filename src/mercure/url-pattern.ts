/**
 * One URL pattern component (the pattern string the runtime's URLPattern
 * normalized it to, e.g. `/books{/:id}?` or `/:id(\d+)`) turned into a tree
 * that matches what the component's regular expression would match, without
 * that regular expression: WHATWG URL Pattern §"parse a pattern string"
 * (tokenize, then parts: fixed text, named or anonymous groups with a
 * segment wildcard, a full wildcard or a regular expression, each with a
 * prefix, a suffix and a modifier `?` `*` `+`), then §"generate a regular
 * expression and name list", node by node. Regular expression groups go
 * through parseRegExp (regular.ts), which refuses what is not regular.
 *
 * URL components hold no line terminators (the URL parser strips tabs and
 * newlines and percent-encodes the rest), so the full wildcard `.*` is taken
 * as any run of code points here, as LinearPattern's fast path wants it.
 */
import {
  ANY_SET,
  allBut,
  type CodePointSet,
  literal,
  optional,
  parseRegExp,
  type RegularNode,
  repeat,
  seq,
  UnsupportedPattern,
} from "./regular";

/** §"options": the delimiter a segment wildcard stops at, and the code point a group takes as its prefix. */
export interface ComponentOptions {
  readonly delimiter: string;
  readonly prefix: string;
}

export const DEFAULT_OPTIONS: ComponentOptions = { delimiter: "", prefix: "" };
export const HOSTNAME_OPTIONS: ComponentOptions = { delimiter: ".", prefix: "" };
export const PATHNAME_OPTIONS: ComponentOptions = { delimiter: "/", prefix: "/" };

type TokenType = "open" | "close" | "regexp" | "name" | "char" | "escaped-char" | "other-modifier" | "asterisk" | "end";
interface Token {
  readonly type: TokenType;
  readonly value: string;
}

const NAME_START = /[\p{ID_Start}$_]/u;
const NAME_PART = /[\p{ID_Continue}$\u200c\u200d]/u;

/** §"tokenize", strict: the runtime has already accepted the pattern, so an error here is this code's. */
function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let index = 0;
  const codePoints = [...input];
  while (index < codePoints.length) {
    const c = codePoints[index]!;
    if (c === "*") {
      tokens.push({ type: "asterisk", value: c });
      index++;
    } else if (c === "+" || c === "?") {
      tokens.push({ type: "other-modifier", value: c });
      index++;
    } else if (c === "\\") {
      if (index + 1 >= codePoints.length) throw new UnsupportedPattern("a trailing backslash");
      tokens.push({ type: "escaped-char", value: codePoints[index + 1]! });
      index += 2;
    } else if (c === "{" || c === "}") {
      tokens.push({ type: c === "{" ? "open" : "close", value: c });
      index++;
    } else if (c === ":") {
      let end = index + 1;
      while (end < codePoints.length && (end === index + 1 ? NAME_START : NAME_PART).test(codePoints[end]!)) end++;
      if (end === index + 1) throw new UnsupportedPattern("a group without a name");
      tokens.push({ type: "name", value: codePoints.slice(index + 1, end).join("") });
      index = end;
    } else if (c === "(") {
      let depth = 1;
      let end = index + 1;
      let value = "";
      while (end < codePoints.length) {
        const d = codePoints[end]!;
        if (d === "\\") {
          value += d + (codePoints[end + 1] ?? "");
          end += 2;
          continue;
        }
        if (d === ")") {
          depth--;
          if (depth === 0) break;
        } else if (d === "(") {
          depth++;
        }
        value += d;
        end++;
      }
      if (depth !== 0 || value === "") throw new UnsupportedPattern("an unbalanced or empty (…) group");
      tokens.push({ type: "regexp", value });
      index = end + 1;
    } else {
      tokens.push({ type: "char", value: c });
      index++;
    }
  }
  tokens.push({ type: "end", value: "" });
  return tokens;
}

type Modifier = "none" | "optional" | "zero-or-more" | "one-or-more";
type PartType = "fixed-text" | "regexp" | "segment-wildcard" | "full-wildcard";
interface Part {
  readonly type: PartType;
  /** Fixed text, or the regular expression of a `regexp` part. */
  readonly value: string;
  readonly modifier: Modifier;
  readonly prefix: string;
  readonly suffix: string;
}

const MODIFIERS: Readonly<Record<string, Modifier>> = { "?": "optional", "*": "zero-or-more", "+": "one-or-more" };

/** §"escape a regexp string", for the segment wildcard's text (the parser compares regexp values with it). */
const escapeRegExp = (text: string) => text.replace(/[.+*?^${}()[\]|/\\]/g, "\\$&");

/** §"parse a pattern string": the part list of one component pattern. */
function parseParts(input: string, options: ComponentOptions): Part[] {
  const tokens = tokenize(input);
  const segmentWildcard = `[^${escapeRegExp(options.delimiter)}]+?`;
  const parts: Part[] = [];
  let pending = "";
  let index = 0;
  const tryConsume = (type: TokenType): Token | null => (tokens[index]!.type === type ? tokens[index++]! : null);
  const tryModifier = () => tryConsume("other-modifier") ?? tryConsume("asterisk");
  const tryRegexpOrWildcard = (name: Token | null) => {
    const token = tryConsume("regexp");
    return token === null && name === null ? tryConsume("asterisk") : token;
  };
  const consumeText = () => {
    let text = "";
    for (;;) {
      const token = tryConsume("char") ?? tryConsume("escaped-char");
      if (token === null) return text;
      text += token.value;
    }
  };
  const flushPending = () => {
    if (pending === "") return;
    parts.push({ type: "fixed-text", value: pending, modifier: "none", prefix: "", suffix: "" });
    pending = "";
  };
  const addPart = (
    prefix: string,
    name: Token | null,
    regexpOrWildcard: Token | null,
    suffix: string,
    modifierToken: Token | null,
  ) => {
    const modifier = modifierToken === null ? "none" : MODIFIERS[modifierToken.value]!;
    if (name === null && regexpOrWildcard === null && modifier === "none") {
      pending += prefix;
      return;
    }
    flushPending();
    if (name === null && regexpOrWildcard === null) {
      if (prefix !== "") parts.push({ type: "fixed-text", value: prefix, modifier, prefix: "", suffix: "" });
      return;
    }
    let regexp =
      regexpOrWildcard === null
        ? segmentWildcard
        : regexpOrWildcard.type === "asterisk"
          ? ".*"
          : regexpOrWildcard.value;
    let type: PartType = "regexp";
    if (regexp === segmentWildcard) {
      type = "segment-wildcard";
      regexp = "";
    } else if (regexp === ".*") {
      type = "full-wildcard";
      regexp = "";
    }
    parts.push({ type, value: regexp, modifier, prefix, suffix });
  };
  while (index < tokens.length) {
    const charToken = tryConsume("char");
    const name = tryConsume("name");
    const regexpOrWildcard = tryRegexpOrWildcard(name);
    if (name !== null || regexpOrWildcard !== null) {
      let prefix = charToken?.value ?? "";
      if (prefix !== "" && prefix !== options.prefix) {
        pending += prefix;
        prefix = "";
      }
      flushPending();
      addPart(prefix, name, regexpOrWildcard, "", tryModifier());
      continue;
    }
    const fixed = charToken ?? tryConsume("escaped-char");
    if (fixed !== null) {
      pending += fixed.value;
      continue;
    }
    if (tryConsume("open") !== null) {
      const prefix = consumeText();
      const innerName = tryConsume("name");
      const inner = tryRegexpOrWildcard(innerName);
      const suffix = consumeText();
      if (tryConsume("close") === null) throw new UnsupportedPattern("an unbalanced {…} group");
      addPart(prefix, innerName, inner, suffix, tryModifier());
      continue;
    }
    flushPending();
    if (tryConsume("end") === null) throw new UnsupportedPattern(`an unexpected ${tokens[index]!.value}`);
  }
  return parts;
}

/**
 * The component pattern as a tree (§"generate a regular expression and name
 * list"); an UnsupportedPattern naming what cannot be run without
 * backtracking.
 */
export function componentTree(pattern: string, options: ComponentOptions): RegularNode {
  const segment: CodePointSet = options.delimiter === "" ? ANY_SET : allBut(options.delimiter.codePointAt(0)!);
  const items: RegularNode[] = [];
  for (const part of parseParts(pattern, options)) {
    if (part.type === "fixed-text") {
      items.push(withModifier(literal(part.value), part.modifier));
      continue;
    }
    const body: RegularNode =
      part.type === "segment-wildcard"
        ? repeat({ kind: "set", set: segment }, 1, Infinity)
        : part.type === "full-wildcard"
          ? repeat({ kind: "set", set: ANY_SET }, 0, Infinity)
          : parseRegExp(part.value);
    const prefix = literal(part.prefix);
    const suffix = literal(part.suffix);
    if (part.modifier === "none" || part.modifier === "optional") {
      items.push(withModifier(seq([prefix, body, suffix]), part.modifier));
    } else {
      // (?:prefix((?:body)(?:suffix prefix (?:body))*)suffix), optional for `*`: with no prefix and suffix, (body)*.
      const repeated =
        part.prefix === "" && part.suffix === ""
          ? withModifier(body, part.modifier)
          : seq([prefix, body, repeat(seq([suffix, prefix, body]), 0, Infinity), suffix]);
      items.push(
        part.modifier === "zero-or-more" && (part.prefix !== "" || part.suffix !== "") ? optional(repeated) : repeated,
      );
    }
  }
  return seq(items);
}

function withModifier(node: RegularNode, modifier: Modifier): RegularNode {
  switch (modifier) {
    case "none":
      return node;
    case "optional":
      return optional(node);
    case "zero-or-more":
      return repeat(node, 0, Infinity);
    case "one-or-more":
      return repeat(node, 1, Infinity);
  }
}
