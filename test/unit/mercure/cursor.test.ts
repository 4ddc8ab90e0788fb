/**
 * The hub's position marks (src/mercure/cursor.ts) as pure functions:
 * SipHash-2-4 against reference vectors, then marks over random positions
 * and secrets (seeded by the run's seed, printed; TEST_SEED=... replays it):
 * they round-trip, never show the position, and anything but a mark the key
 * made (one character changed, another key, the plain `#<n>` of earlier
 * releases) reads as no position at all.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { hubMarks, MARK_SECRET_BYTES, positionMarks } from "../../../src/mercure/cursor";
import { readWord, sipHash64, sipKey } from "../../../src/mercure/siphash";
import { SEED } from "../seed";

const MARK = /^#[A-Za-z0-9_-]{22}$/;
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const secretArb = fc.uint8Array({ minLength: MARK_SECRET_BYTES, maxLength: MARK_SECRET_BYTES });
const positionArb = fc.oneof(fc.nat({ max: 1_000_000 }), fc.maxSafeNat());
const bytes = (...values: number[]) => Uint8Array.from(values);
const counting = (n: number) => Uint8Array.from({ length: n }, (_, index) => index);

describe("SipHash-2-4", () => {
  it("matches the reference implementation's vectors (and OpenSSL's SIPHASH)", () => {
    const key = sipKey(counting(16), 0);
    // The paper's Appendix A vector: key 00..0f, message 00..07.
    expect(sipHash64(key, readWord(counting(8), 0))).toBe(0x93f5f5799a932462n);
    expect(sipHash64(key, readWord(bytes(255, 255, 255, 255, 255, 255, 255, 255), 0))).toBe(0x2a68ff30a3d9da34n);
    const reversed = sipKey(counting(16).reverse(), 0);
    expect(sipHash64(reversed, 0n)).toBe(0xd4d1da5496e4754bn);
  });
});

describe("position marks", () => {
  it(`round-trip any position, in an id and URL-safe form that does not show it (seed ${SEED})`, () => {
    fc.assert(
      fc.property(secretArb, positionArb, (secret, position) => {
        const marks = positionMarks(secret);
        const mark = marks.mark(position);
        expect(mark).toMatch(MARK);
        expect(mark).not.toBe(`#${position}`);
        expect(encodeURIComponent(mark.slice(1))).toBe(mark.slice(1));
        expect(marks.position(mark)).toBe(position);
        // Another isolate with the same secret reads it too.
        expect(positionMarks(Uint8Array.from(secret)).position(mark)).toBe(position);
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it(`refuse a mark with any one character changed, cut or lengthened (seed ${SEED})`, () => {
    fc.assert(
      fc.property(secretArb, positionArb, fc.nat(), fc.nat({ max: 62 }), (secret, position, at, shift) => {
        const marks = positionMarks(secret);
        const mark = marks.mark(position);
        const index = 1 + (at % 22);
        const char = ALPHABET[(ALPHABET.indexOf(mark[index]!) + 1 + shift) % 64]!;
        const tampered = mark.slice(0, index) + char + mark.slice(index + 1);
        expect(tampered).not.toBe(mark);
        expect(marks.position(tampered)).toBeNull();
        expect(marks.position(mark.slice(0, -1))).toBeNull();
        expect(marks.position(`${mark}A`)).toBeNull();
        expect(marks.position(`#${position}`)).toBeNull();
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  it(`differ between two hubs' secrets, and one hub's marks mean nothing to another (seed ${SEED})`, () => {
    fc.assert(
      fc.property(secretArb, secretArb, positionArb, (one, other, position) => {
        fc.pre(one.some((byte, index) => byte !== other[index]));
        const mark = positionMarks(one).mark(position);
        expect(positionMarks(other).mark(position)).not.toBe(mark);
        expect(positionMarks(other).position(mark)).toBeNull();
      }),
      { seed: SEED, numRuns: 100 },
    );
  });

  it("refuse what is not a mark at all, and positions that are not counts", () => {
    const marks = positionMarks(counting(32));
    for (const id of ["#", "#0", "#42", "earliest", "urn:uuid:x", `#${"A".repeat(21)}=`, `#${"é".repeat(22)}`]) {
      expect(marks.position(id)).toBeNull();
    }
    expect(() => marks.mark(-1)).toThrow(RangeError);
    expect(() => marks.mark(1.5)).toThrow(RangeError);
    expect(() => positionMarks(counting(16))).toThrow();
  });

  it("are set up once per isolate from the hub's secret; a failed fetch is asked again", async () => {
    const owner = {};
    let calls = 0;
    const fetchSecret = async () => {
      calls += 1;
      if (calls === 1) throw new Error("object not ready");
      return counting(32);
    };
    await expect(hubMarks(owner, fetchSecret)).rejects.toThrow("object not ready");
    const first = await hubMarks(owner, fetchSecret);
    const second = await hubMarks(owner, fetchSecret);
    expect(second).toBe(first);
    expect(calls).toBe(2);
    expect(first.position(positionMarks(counting(32)).mark(7))).toBe(7);
  });
});
