/**
 * A pattern language with no way to backtrack: a sequence of atoms, each
 * - one literal UTF-16 code unit,
 * - one code unit of a class (`[^/]`, any, …), or
 * - any run (possibly empty) of code units of a class (`[^/]*`, `.*`, …).
 * That is every URL pattern component made of literal text, `:name` groups
 * and `*` (nearly every pattern written), and every URI template this hub
 * accepts (see matchers.ts; other URL pattern components run on
 * RegularPattern, regular.ts). It is run as a Thompson automaton simulated with
 * bit sets (shift-and): each input code unit costs one pass over
 * ceil((atoms + 1) / 32) words, so matching is O(input length x pattern
 * length / 32) whatever the pattern and input, with no regular expression
 * and no recursion.
 */

/** Which code units a class atom accepts. Classes of one pattern are compared by identity. */
export type CodeUnitClass = (codeUnit: number) => boolean;

export type Atom =
  | { readonly kind: "literal"; readonly codeUnit: number }
  | { readonly kind: "one"; readonly accepts: CodeUnitClass }
  | { readonly kind: "run"; readonly accepts: CodeUnitClass };

/** Code units below this have their masks precomputed. */
const ASCII = 128;

export class LinearPattern {
  /** Bit i: atom i consumes exactly one code unit (literal or one). */
  private readonly single: Uint32Array;
  /** Bit i: atom i is a run (state i loops on it, and may skip it). */
  private readonly run: Uint32Array;
  /** Bits of the literal atoms, by code unit. */
  private readonly literals = new Map<number, Uint32Array>();
  /** Bits of the class atoms, by class. */
  private readonly classes: Array<{ accepts: CodeUnitClass; bits: Uint32Array }> = [];
  /** 32-bit words per state set: the work per input code unit is a small multiple of this. */
  readonly words: number;
  private readonly accept: number;
  /**
   * The mask of each ASCII code unit (literals and classes together), `words` words each: a topic's
   * URL components are ASCII (the URL parser percent-encodes the rest), so most code units skip the
   * literal lookup and the class calls, which cost far more than the bit operations.
   */
  private readonly ascii: Uint32Array;
  /** Scratch sets, reused: matching allocates nothing. */
  private readonly current: Uint32Array;
  private readonly next: Uint32Array;
  private readonly mask: Uint32Array;
  /** Word operations of the last `matches` call (what tests assert on, never time). */
  steps = 0;

  /** Two runs side by side are refused (merge them first): then the closure takes at most two passes. */
  constructor(atoms: readonly Atom[]) {
    atoms.forEach((atom, index) => {
      if (atom.kind === "run" && atoms[index + 1]?.kind === "run") throw new TypeError("adjacent runs: merge them");
    });
    this.accept = atoms.length;
    this.words = Math.ceil((atoms.length + 1) / 32);
    this.single = new Uint32Array(this.words);
    this.run = new Uint32Array(this.words);
    this.current = new Uint32Array(this.words);
    this.next = new Uint32Array(this.words);
    this.mask = new Uint32Array(this.words);
    atoms.forEach((atom, index) => {
      const word = index >>> 5;
      const bit = 1 << (index & 31);
      if (atom.kind === "run") this.run[word]! |= bit;
      else this.single[word]! |= bit;
      let bits: Uint32Array;
      if (atom.kind === "literal") {
        bits = this.literals.get(atom.codeUnit) ?? new Uint32Array(this.words);
        this.literals.set(atom.codeUnit, bits);
      } else {
        let entry = this.classes.find((candidate) => candidate.accepts === atom.accepts);
        if (!entry) {
          entry = { accepts: atom.accepts, bits: new Uint32Array(this.words) };
          this.classes.push(entry);
        }
        bits = entry.bits;
      }
      bits[word]! |= bit;
    });
    this.ascii = new Uint32Array(ASCII * this.words);
    for (let codeUnit = 0; codeUnit < ASCII; codeUnit++) {
      this.maskOf(codeUnit, this.mask);
      this.ascii.set(this.mask, codeUnit * this.words);
    }
  }

  matches(input: string): boolean {
    if (this.words === 1) return this.matchesOneWord(input);
    const { words, mask, single, run, ascii } = this;
    // The scratch sets swap roles after each code unit (copying one into the other costs more than the step).
    let current = this.current;
    let next = this.next;
    current.fill(0);
    // The start state, and the state after atom 0 if that is a run (it may match nothing).
    current[0] = 1 | ((run[0]! & 1) << 1);
    let steps = words;
    const stepWork = words * (2 + this.classes.length);
    for (let position = 0; position < input.length; position++) {
      const codeUnit = input.charCodeAt(position);
      if (codeUnit < ASCII) for (let w = 0; w < words; w++) mask[w] = ascii[codeUnit * words + w]!;
      else this.maskOf(codeUnit, mask);
      // next = shift-left-by-one(current & single & mask) | (current & run & mask)
      let carry = 0;
      let alive = 0;
      for (let w = 0; w < words; w++) {
        const moved = current[w]! & single[w]! & mask[w]!;
        next[w] = (moved << 1) | carry | (current[w]! & run[w]! & mask[w]!);
        carry = moved >>> 31;
        alive |= next[w]!;
      }
      steps += stepWork;
      if (alive === 0) {
        this.steps = steps;
        return false;
      }
      // Epsilon closure: a run may match nothing, so state i of a run also enables state i + 1. Runs
      // never touch, so one pass adds all there is to add; a second would find nothing (counted).
      carry = 0;
      let added = 0;
      for (let w = 0; w < words; w++) {
        const skipping = next[w]! & run[w]!;
        const enabled = ((skipping << 1) | carry) >>> 0;
        carry = skipping >>> 31;
        const fresh = enabled & ~next[w]!;
        next[w]! |= fresh;
        added |= fresh;
      }
      steps += added === 0 ? words : 2 * words;
      const taken = current;
      current = next;
      next = taken;
    }
    this.steps = steps;
    return (current[this.accept >>> 5]! & (1 << (this.accept & 31))) !== 0;
  }

  /**
   * `matches` for patterns of at most 31 atoms (nearly all), on plain integers: the same steps and
   * the same count of them, several times faster than the loops over one-word arrays.
   */
  private matchesOneWord(input: string): boolean {
    const { ascii, mask } = this;
    const single = this.single[0]!;
    const run = this.run[0]!;
    const stepWork = 2 + this.classes.length;
    // Epsilon closure in one word: runs never touch, so one shift adds all there is to add.
    let current = 1 | (((1 & run) << 1) >>> 0);
    let steps = 1;
    for (let position = 0; position < input.length; position++) {
      const codeUnit = input.charCodeAt(position);
      let accepted: number;
      if (codeUnit < ASCII) accepted = ascii[codeUnit]!;
      else {
        this.maskOf(codeUnit, mask);
        accepted = mask[0]!;
      }
      const next = (((current & single & accepted) << 1) | (current & run & accepted)) >>> 0;
      steps += stepWork;
      if (next === 0) {
        this.steps = steps;
        return false;
      }
      const enabled = ((next & run) << 1) >>> 0;
      current = (next | enabled) >>> 0;
      steps += (enabled & ~next) === 0 ? 1 : 2;
    }
    this.steps = steps;
    return (current & (1 << this.accept)) !== 0;
  }

  /** The states `codeUnit` may enter: its literal atoms and the classes that accept it. */
  private maskOf(codeUnit: number, mask: Uint32Array): void {
    const literal = this.literals.get(codeUnit);
    if (literal) mask.set(literal);
    else mask.fill(0);
    for (const { accepts, bits } of this.classes) {
      if (!accepts(codeUnit)) continue;
      for (let w = 0; w < this.words; w++) mask[w]! |= bits[w]!;
    }
  }
}
