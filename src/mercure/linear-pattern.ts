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
  }

  matches(input: string): boolean {
    const { words, current, next, mask, single, run } = this;
    current.fill(0);
    current[0] = 1;
    this.close(current);
    this.steps = words;
    for (let position = 0; position < input.length; position++) {
      const codeUnit = input.charCodeAt(position);
      const literal = this.literals.get(codeUnit);
      if (literal) mask.set(literal);
      else mask.fill(0);
      for (const { accepts, bits } of this.classes) {
        if (!accepts(codeUnit)) continue;
        for (let w = 0; w < words; w++) mask[w]! |= bits[w]!;
      }
      // next = shift-left-by-one(current & single & mask) | (current & run & mask)
      let carry = 0;
      let alive = 0;
      for (let w = 0; w < words; w++) {
        const moved = current[w]! & single[w]! & mask[w]!;
        next[w] = (moved << 1) | carry | (current[w]! & run[w]! & mask[w]!);
        carry = moved >>> 31;
        alive |= next[w]!;
      }
      this.steps += words * (2 + this.classes.length);
      if (alive === 0) return false;
      this.close(next);
      current.set(next);
    }
    return (current[this.accept >>> 5]! & (1 << (this.accept & 31))) !== 0;
  }

  /** Epsilon closure: a run may match nothing, so state i of a run also enables state i + 1 (runs never touch, so two passes). */
  private close(set: Uint32Array): void {
    const { words, run } = this;
    for (;;) {
      let carry = 0;
      let added = 0;
      for (let w = 0; w < words; w++) {
        const skipping = set[w]! & run[w]!;
        const enabled = ((skipping << 1) | carry) >>> 0;
        carry = skipping >>> 31;
        const fresh = enabled & ~set[w]!;
        set[w]! |= fresh;
        added |= fresh;
      }
      this.steps += words;
      if (added === 0) return;
    }
  }
}
