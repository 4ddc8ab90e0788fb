/**
 * Regular expressions without backtracking, for the URL patterns whose
 * components LinearPattern cannot run (optional and repeated groups,
 * alternatives, regular expression groups). Two pieces:
 *
 * - `parseRegExp`: the regular subset of ECMAScript pattern syntax (u/v
 *   flags, as URLPattern compiles a `(…)` group): characters and escapes,
 *   `.`, classes `[…]` with ranges and `\d \D \w \W \s \S`, groups `(?:…)`
 *   and `(?<name>…)`, alternatives `|`, quantifiers `* + ? {n} {n,} {n,m}`
 *   (lazy or not: the same matches). What is not regular, or that this
 *   parser does not know, is refused by name: back references, lookaround
 *   and other assertions (`^ $ \b \B`), `\p{…}`, inline modifiers, the v
 *   flag's nested classes and set operations.
 * - `RegularPattern`: Glushkov's position automaton over that tree,
 *   simulated with bit sets, one input code point at a time: the states
 *   after a code point are the union of the follow sets of the states
 *   before it, masked by the positions that accept it. Each code point costs
 *   at most (positions + classes + 1) x words word operations, whatever the
 *   pattern and input: linear time, no recursion, no regular expression.
 */

/** A set of code points: sorted, disjoint, inclusive ranges, maybe negated. */
export interface CodePointSet {
  readonly ranges: readonly (readonly [number, number])[];
  readonly negated: boolean;
}

export type RegularNode =
  | { readonly kind: "char"; readonly codePoint: number }
  | { readonly kind: "set"; readonly set: CodePointSet }
  | { readonly kind: "seq"; readonly items: readonly RegularNode[] }
  | { readonly kind: "alt"; readonly options: readonly RegularNode[] }
  | { readonly kind: "repeat"; readonly node: RegularNode; readonly min: number; readonly max: number };

/** What the parser refuses, with the construct named; the caller turns it into its 400. */
export class UnsupportedPattern extends Error {
  override readonly name = "UnsupportedPattern";
}

/** A sequence, nested sequences spliced in (so a component's tree is one flat list where it can be). */
export function seq(items: readonly RegularNode[]): RegularNode {
  const flat = items.flatMap((item) => (item.kind === "seq" ? item.items : [item]));
  return flat.length === 1 ? flat[0]! : { kind: "seq", items: flat };
}
export const literal = (text: string): RegularNode => seq([...text].map((c) => char(c.codePointAt(0)!)));
const char = (codePoint: number): RegularNode => ({ kind: "char", codePoint });
export const repeat = (node: RegularNode, min: number, max: number): RegularNode => ({
  kind: "repeat",
  node,
  min,
  max,
});
export const optional = (node: RegularNode): RegularNode => repeat(node, 0, 1);

/** Every code point. */
export const ANY_SET: CodePointSet = { ranges: [], negated: true };
/** `.` without the s flag: every code point but the line terminators. */
const DOT_SET: CodePointSet = {
  ranges: [
    [0x0a, 0x0a],
    [0x0d, 0x0d],
    [0x2028, 0x2029],
  ],
  negated: true,
};
/** Every code point but `codePoint` (a URL pattern's segment wildcard: `[^/]`, `[^.]`). */
export const allBut = (codePoint: number): CodePointSet => ({ ranges: [[codePoint, codePoint]], negated: true });

function inSet(set: CodePointSet, codePoint: number): boolean {
  let inside = false;
  for (const [low, high] of set.ranges) {
    if (codePoint < low) break;
    if (codePoint <= high) {
      inside = true;
      break;
    }
  }
  return inside !== set.negated;
}

const DIGIT: readonly (readonly [number, number])[] = [[0x30, 0x39]];
const WORD: readonly (readonly [number, number])[] = [
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x5f, 0x5f],
  [0x61, 0x7a],
];
/** ECMAScript WhiteSpace and LineTerminator (`\s`). */
const SPACE: readonly (readonly [number, number])[] = [
  [0x09, 0x0d],
  [0x20, 0x20],
  [0xa0, 0xa0],
  [0x1680, 0x1680],
  [0x2000, 0x200a],
  [0x2028, 0x2029],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
  [0xfeff, 0xfeff],
];
const CLASS_ESCAPES: Readonly<Record<string, CodePointSet>> = {
  d: { ranges: DIGIT, negated: false },
  D: { ranges: DIGIT, negated: true },
  w: { ranges: WORD, negated: false },
  W: { ranges: WORD, negated: true },
  s: { ranges: SPACE, negated: false },
  S: { ranges: SPACE, negated: true },
};
const CONTROL_ESCAPES: Readonly<Record<string, number>> = { f: 0x0c, n: 0x0a, r: 0x0d, t: 0x09, v: 0x0b };
/** Characters that stand for themselves after `\` with the u flag (SyntaxCharacter and `/`; `-` in classes). */
const IDENTITY_ESCAPES = "^$\\.*+?()[]{}|/";

/** Sorted, merged ranges. */
function normalize(ranges: Array<[number, number]>): Array<[number, number]> {
  ranges.sort((a, b) => a[0] - b[0]);
  const out: Array<[number, number]> = [];
  for (const range of ranges) {
    const last = out.at(-1);
    if (last && range[0] <= last[1] + 1) last[1] = Math.max(last[1], range[1]);
    else out.push([range[0], range[1]]);
  }
  return out;
}

/** The complement of a set as plain ranges (to union a negated escape such as `\D` into a class). */
function rangesOf(set: CodePointSet): Array<[number, number]> {
  if (!set.negated) return set.ranges.map(([low, high]): [number, number] => [low, high]);
  const out: Array<[number, number]> = [];
  let next = 0;
  for (const [low, high] of set.ranges) {
    if (low > next) out.push([next, low - 1]);
    next = high + 1;
  }
  if (next <= 0x10ffff) out.push([next, 0x10ffff]);
  return out;
}

/**
 * The tree of an ECMAScript pattern in the regular subset (see the module's
 * header); an UnsupportedPattern naming what is not.
 */
export function parseRegExp(source: string): RegularNode {
  let index = 0;
  const peek = () => source[index];
  const refuse = (what: string): never => {
    throw new UnsupportedPattern(what);
  };

  function disjunction(): RegularNode {
    const options = [alternative()];
    while (peek() === "|") {
      index++;
      options.push(alternative());
    }
    return options.length === 1 ? options[0]! : { kind: "alt", options };
  }

  function alternative(): RegularNode {
    const items: RegularNode[] = [];
    while (index < source.length && peek() !== "|" && peek() !== ")") {
      const atom = term();
      items.push(quantified(atom));
    }
    return seq(items);
  }

  function term(): RegularNode {
    const c = source[index]!;
    if (c === "^" || c === "$") refuse(`the assertion ${c}`);
    if (c === "(") return group();
    if (c === "[") return characterClass();
    if (c === ".") {
      index++;
      return { kind: "set", set: DOT_SET };
    }
    if (c === "\\") return atomEscape();
    if ("*+?{".includes(c)) refuse(`a quantifier with nothing to repeat (${c})`);
    if (c === "]" || c === "}") refuse(`a lone ${c}`);
    const codePoint = source.codePointAt(index)!;
    index += codePoint > 0xffff ? 2 : 1;
    return char(codePoint);
  }

  function group(): RegularNode {
    index++; // (
    if (source.startsWith("?:", index)) {
      index += 2;
    } else if (source.startsWith("?<", index) && !source.startsWith("?<=", index) && !source.startsWith("?<!", index)) {
      const end = source.indexOf(">", index);
      if (end < 0) refuse("an unterminated group name");
      index = end + 1;
    } else if (peek() === "?") {
      const kind = source.slice(index, index + 3);
      if (kind.startsWith("?=") || kind.startsWith("?!") || kind === "?<=" || kind === "?<!") refuse("a lookaround");
      refuse("an inline modifier group (?…)");
    }
    const inner = disjunction();
    if (peek() !== ")") refuse("an unterminated group");
    index++;
    return inner;
  }

  function quantified(atom: RegularNode): RegularNode {
    const c = peek();
    let min: number;
    let max: number;
    if (c === "*" || c === "+" || c === "?") {
      index++;
      [min, max] = c === "*" ? [0, Infinity] : c === "+" ? [1, Infinity] : [0, 1];
    } else if (c === "{") {
      const bounds = /^\{(\d+)(,(\d*))?\}/.exec(source.slice(index));
      if (!bounds) refuse("a lone {");
      index += bounds![0].length;
      min = Number(bounds![1]);
      max = bounds![2] === undefined ? min : bounds![3] === "" ? Infinity : Number(bounds![3]);
      if (max < min) refuse("a quantifier {n,m} with m < n");
    } else {
      return atom;
    }
    if (peek() === "?") index++; // lazy: the same set of matches
    const after = peek();
    if (after !== undefined && "*+?{".includes(after)) refuse("a quantifier after a quantifier");
    return repeat(atom, min, max);
  }

  function atomEscape(): RegularNode {
    index++; // backslash
    const c = source[index];
    if (c === undefined) return refuse("a trailing backslash");
    if (c === "b" || c === "B") refuse(`the assertion \\${c}`);
    if (/[1-9]/.test(c) || c === "k") refuse("a back reference");
    const set = classEscape(false);
    return set.kind === "char" ? char(set.codePoint) : { kind: "set", set: set.set };
  }

  /** After a backslash: one code point, or a class (`\d`…). `inClass`: `\b` is backspace, `\-` is `-`. */
  function classEscape(inClass: boolean): { kind: "char"; codePoint: number } | { kind: "set"; set: CodePointSet } {
    const c = source[index]!;
    index++;
    if (Object.hasOwn(CLASS_ESCAPES, c)) return { kind: "set", set: CLASS_ESCAPES[c]! };
    if (c === "p" || c === "P") refuse("a Unicode property escape \\p{…}");
    if (Object.hasOwn(CONTROL_ESCAPES, c)) return { kind: "char", codePoint: CONTROL_ESCAPES[c]! };
    if (c === "0" && !/[0-9]/.test(peek() ?? "")) return { kind: "char", codePoint: 0 };
    if (c === "c" && /[A-Za-z]/.test(peek() ?? "")) {
      index++;
      return { kind: "char", codePoint: source.charCodeAt(index - 1) % 32 };
    }
    if (c === "x") {
      const hex = /^[0-9A-Fa-f]{2}/.exec(source.slice(index));
      if (!hex) refuse("a malformed \\x escape");
      index += 2;
      return { kind: "char", codePoint: Number.parseInt(hex![0], 16) };
    }
    if (c === "u") {
      const braced = /^\{([0-9A-Fa-f]{1,6})\}/.exec(source.slice(index));
      if (braced) {
        index += braced[0].length;
        const codePoint = Number.parseInt(braced[1]!, 16);
        if (codePoint > 0x10ffff) refuse("a code point past U+10FFFF");
        return { kind: "char", codePoint };
      }
      const hex = /^[0-9A-Fa-f]{4}/.exec(source.slice(index));
      if (!hex) refuse("a malformed \\u escape");
      index += 4;
      let codePoint = Number.parseInt(hex![0], 16);
      const low = /^\\u(d[c-f][0-9a-f]{2})/i.exec(source.slice(index));
      if (codePoint >= 0xd800 && codePoint <= 0xdbff && low) {
        index += 6;
        codePoint = 0x10000 + ((codePoint - 0xd800) << 10) + (Number.parseInt(low[1]!, 16) - 0xdc00);
      }
      return { kind: "char", codePoint };
    }
    if (inClass && c === "b") return { kind: "char", codePoint: 0x08 };
    if (IDENTITY_ESCAPES.includes(c) || (inClass && c === "-")) return { kind: "char", codePoint: c.charCodeAt(0) };
    return refuse(`the escape \\${c}`);
  }

  function characterClass(): RegularNode {
    index++; // [
    let negated = false;
    if (peek() === "^") {
      negated = true;
      index++;
    }
    const ranges: Array<[number, number]> = [];
    const atom = (): { kind: "char"; codePoint: number } | { kind: "set"; set: CodePointSet } => {
      const c = source[index];
      if (c === undefined) return refuse("an unterminated class [");
      if (c === "[") refuse("a nested class (the v flag's syntax)");
      if (c === "\\") {
        index++;
        if (index >= source.length) refuse("a trailing backslash");
        return classEscape(true);
      }
      if ((c === "&" || c === "-") && source[index + 1] === c) refuse("a class set operation (&& or --)");
      const codePoint = source.codePointAt(index)!;
      index += codePoint > 0xffff ? 2 : 1;
      return { kind: "char", codePoint };
    };
    while (peek() !== "]") {
      const from = atom();
      if (peek() === "-" && source[index + 1] !== "]" && source[index + 1] !== undefined) {
        index++;
        const to = atom();
        if (from.kind !== "char" || to.kind !== "char") refuse("a class range with a class escape at an end");
        const [low, high] = [(from as { codePoint: number }).codePoint, (to as { codePoint: number }).codePoint];
        if (low > high) refuse("a class range out of order");
        ranges.push([low, high]);
      } else if (from.kind === "char") {
        ranges.push([from.codePoint, from.codePoint]);
      } else {
        ranges.push(...rangesOf(from.set));
      }
    }
    index++; // ]
    return { kind: "set", set: { ranges: normalize(ranges), negated } };
  }

  const tree = disjunction();
  if (index < source.length) refuse(`an unbalanced ${source[index]}`);
  return tree;
}

/**
 * Positions past this are refused before the automaton is built (a `{n,m}` expands its operand):
 * it bounds the memory and time one matcher takes to build. No automaton this large could pass
 * MERCURE_LIMITS.maxMatcherCost anyway (about 95 positions at most).
 */
const MAX_POSITIONS = 256;

/**
 * Code points below this have their masks precomputed: a topic's URL components are ASCII (the URL
 * parser percent-encodes the rest), so most code points skip the literal lookup and the set scans.
 */
const ASCII = 128;

/** A bit set of `words` 32-bit words. */
type Bits = Uint32Array;

export class RegularPattern {
  /** 32-bit words per state set. */
  readonly words: number;
  /** Positions, the start state (0) included. */
  readonly states: number;
  /** Code point sets the positions use, each once. */
  readonly classes: number;
  /** Word operations one input code point can cost at most: the unit of MERCURE_LIMITS.maxMatcherCost is 6 of these. */
  readonly workPerCodePoint: number;
  private readonly follow: Bits[] = [];
  private readonly final: Bits;
  private readonly literals = new Map<number, Bits>();
  private readonly sets: Array<{ set: CodePointSet; bits: Bits }> = [];
  private readonly current: Bits;
  private readonly next: Bits;
  private readonly mask: Bits;
  /** Each position's follow set's first word: all of it in a one-word automaton (matchesOneWord). */
  private readonly followWord: Uint32Array;
  /** The mask of each ASCII code point, `words` words each (see ASCII). */
  private readonly ascii: Uint32Array;
  /** Word operations of the last `matches` call (what tests assert on, never time). */
  steps = 0;

  constructor(tree: RegularNode) {
    this.states = 1 + countPositions(tree);
    this.words = Math.ceil(this.states / 32);
    const words = this.words;
    const make = () => new Uint32Array(words);
    const setBit = (bits: Bits, position: number) => {
      bits[position >>> 5]! |= 1 << (position & 31);
    };
    const union = (into: Bits, from: Bits) => {
      for (let w = 0; w < words; w++) into[w]! |= from[w]!;
    };
    for (let position = 0; position < this.states; position++) this.follow.push(make());
    let created = 0;
    const literals = this.literals;
    const sets = this.sets;
    interface Info {
      nullable: boolean;
      first: Bits;
      last: Bits;
    }
    const build = (node: RegularNode): Info => {
      switch (node.kind) {
        case "char":
        case "set": {
          const position = ++created;
          let bits: Bits;
          if (node.kind === "char") {
            bits = literals.get(node.codePoint) ?? make();
            literals.set(node.codePoint, bits);
          } else {
            let entry = sets.find((candidate) => sameSet(candidate.set, node.set));
            if (!entry) {
              entry = { set: node.set, bits: make() };
              sets.push(entry);
            }
            bits = entry.bits;
          }
          setBit(bits, position);
          const first = make();
          setBit(first, position);
          return { nullable: false, first, last: first.slice() };
        }
        case "seq": {
          let info: Info = { nullable: true, first: make(), last: make() };
          for (const item of node.items) info = concat(info, build(item));
          return info;
        }
        case "alt": {
          const info: Info = { nullable: false, first: make(), last: make() };
          for (const option of node.options) {
            const part = build(option);
            info.nullable ||= part.nullable;
            union(info.first, part.first);
            union(info.last, part.last);
          }
          return info;
        }
        case "repeat": {
          let info: Info = { nullable: true, first: make(), last: make() };
          for (let n = 0; n < node.min; n++) info = concat(info, build(node.node));
          if (node.max === Infinity) {
            const loop = build(node.node);
            forEachBit(loop.last, (position) => union(this.follow[position]!, loop.first));
            info = concat(info, { ...loop, nullable: true });
          } else {
            for (let n = node.min; n < node.max; n++) info = concat(info, { ...build(node.node), nullable: true });
          }
          return info;
        }
      }
    };
    const concat = (a: Info, b: Info): Info => {
      forEachBit(a.last, (position) => union(this.follow[position]!, b.first));
      const first = a.first.slice();
      if (a.nullable) union(first, b.first);
      const last = b.last.slice();
      if (b.nullable) union(last, a.last);
      return { nullable: a.nullable && b.nullable, first, last };
    };
    const root = build(tree);
    this.follow[0] = root.first;
    this.final = root.last;
    if (root.nullable) setBit(this.final, 0);
    this.classes = sets.length;
    this.workPerCodePoint = (this.states + this.classes + 1) * words;
    this.current = make();
    this.next = make();
    this.mask = make();
    this.followWord = Uint32Array.from(this.follow, (bits) => bits[0]!);
    this.ascii = new Uint32Array(ASCII * words);
    for (let codePoint = 0; codePoint < ASCII; codePoint++) {
      this.maskOf(codePoint, this.mask);
      this.ascii.set(this.mask, codePoint * words);
    }
  }

  /**
   * `matches` for automata of at most 31 positions (nearly all), on plain integers: the same steps
   * and the same count of them, several times faster than the loops over one-word arrays.
   */
  private matchesOneWord(input: string): boolean {
    const { ascii, mask } = this;
    const follow = this.followWord;
    let current = 1;
    let steps = 1;
    for (let index = 0; index < input.length; index++) {
      let codePoint = input.charCodeAt(index);
      let accepted: number;
      if (codePoint < ASCII) accepted = ascii[codePoint]!;
      else {
        codePoint = input.codePointAt(index)!;
        if (codePoint > 0xffff) index++;
        this.maskOf(codePoint, mask);
        accepted = mask[0]!;
      }
      let next = 0;
      let active = 0;
      for (let word = current; word !== 0; active++) {
        const low = word & -word;
        next |= follow[31 - Math.clz32(low)]!;
        word ^= low;
      }
      next &= accepted;
      steps += active + this.sets.length + 2;
      if (next === 0) {
        this.steps = steps;
        return false;
      }
      current = next;
    }
    this.steps = steps;
    return (current & this.final[0]!) !== 0;
  }

  /** The positions `codePoint` may enter: its literal positions and those of the sets that hold it. */
  private maskOf(codePoint: number, mask: Bits): void {
    const literal = this.literals.get(codePoint);
    if (literal) mask.set(literal);
    else mask.fill(0);
    for (const { set, bits } of this.sets) {
      if (!inSet(set, codePoint)) continue;
      for (let w = 0; w < this.words; w++) mask[w]! |= bits[w]!;
    }
  }

  matches(input: string): boolean {
    if (this.words === 1) return this.matchesOneWord(input);
    const { words, mask, follow, ascii } = this;
    // The scratch sets swap roles after each code point (copying one into the other costs more than the step).
    let current = this.current;
    let next = this.next;
    current.fill(0);
    current[0] = 1;
    let steps = words;
    for (let index = 0; index < input.length; index++) {
      let codePoint = input.charCodeAt(index);
      if (codePoint < ASCII) for (let w = 0; w < words; w++) mask[w] = ascii[codePoint * words + w]!;
      else {
        codePoint = input.codePointAt(index)!;
        if (codePoint > 0xffff) index++;
        this.maskOf(codePoint, mask);
      }
      next.fill(0);
      let active = 0;
      for (let w = 0; w < words; w++) {
        let word = current[w]!;
        while (word !== 0) {
          const low = word & -word;
          const successors = follow[(w << 5) + 31 - Math.clz32(low)]!;
          for (let v = 0; v < words; v++) next[v]! |= successors[v]!;
          active++;
          word ^= low;
        }
      }
      let alive = 0;
      for (let w = 0; w < words; w++) {
        next[w]! &= mask[w]!;
        alive |= next[w]!;
      }
      steps += (active + this.sets.length + 2) * words;
      if (alive === 0) {
        this.steps = steps;
        return false;
      }
      const taken = current;
      current = next;
      next = taken;
    }
    this.steps = steps;
    for (let w = 0; w < words; w++) if ((current[w]! & this.final[w]!) !== 0) return true;
    return false;
  }
}

function forEachBit(bits: Bits, visit: (position: number) => void): void {
  for (let w = 0; w < bits.length; w++) {
    let word = bits[w]!;
    while (word !== 0) {
      const low = word & -word;
      visit((w << 5) + 31 - Math.clz32(low));
      word ^= low;
    }
  }
}

function sameSet(a: CodePointSet, b: CodePointSet): boolean {
  return (
    a === b ||
    (a.negated === b.negated &&
      a.ranges.length === b.ranges.length &&
      a.ranges.every(([low, high], i) => low === b.ranges[i]![0] && high === b.ranges[i]![1]))
  );
}

/** Positions `tree` builds (a bounded repetition copies its operand); an UnsupportedPattern past MAX_POSITIONS. */
function countPositions(tree: RegularNode): number {
  const count = (node: RegularNode): number => {
    switch (node.kind) {
      case "char":
      case "set":
        return 1;
      case "seq":
        return node.items.reduce((sum, item) => sum + count(item), 0);
      case "alt":
        return node.options.reduce((sum, option) => sum + count(option), 0);
      case "repeat": {
        const copies = node.max === Infinity ? node.min + 1 : node.max;
        const inner = count(node.node);
        if (copies > MAX_POSITIONS || inner * copies > MAX_POSITIONS) {
          throw new UnsupportedPattern(`more than ${MAX_POSITIONS} positions (a large {n,m} repetition)`);
        }
        return inner * copies;
      }
    }
  };
  const total = count(tree);
  if (total > MAX_POSITIONS) throw new UnsupportedPattern(`more than ${MAX_POSITIONS} positions`);
  return total;
}
