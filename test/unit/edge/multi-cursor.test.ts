/**
 * The multi-channel stream's ids (src/edge/multi-cursor.ts): `<k>:<c0>.<c1>…`,
 * one id that resumes every channel. Cases as a table; a malformed cursor is
 * a sentence the route answers with 400.
 */
import { describe, expect, it } from "vitest";
import { formatCursor, parseCursor } from "../../../src/edge/multi-cursor";

describe("formatCursor", () => {
  it.each([
    [0, [5], "0:5"],
    [1, [17, 4], "1:17.4"],
    [2, [0, 0, 9], "2:0.0.9"],
  ])("channel %i at %j is %s", (channel, positions, id) => {
    expect(formatCursor(channel, positions)).toBe(id);
  });

  it("round-trips through parseCursor", () => {
    const positions = [0, 12, 9_007_199_254_740_991 % 10 ** 15, 3];
    expect(parseCursor(formatCursor(3, positions), 4)).toEqual({ positions });
  });
});

describe("parseCursor", () => {
  it.each([
    ["0:5", 1, [5]],
    ["1:17.4", 2, [17, 4]],
    ["0:17..4", 3, [17, undefined, 4]],
    ["0:.", 2, [undefined, undefined]],
    ["2:0.0.0", 3, [0, 0, 0]],
    ["0:999999999999999", 1, [999_999_999_999_999]],
  ])("%s for %i channels resumes at %j", (text, channels, positions) => {
    expect(parseCursor(text, channels)).toEqual({ positions });
  });

  it.each([
    ["17", 1, /start with <channel index>:/],
    [":5", 1, /start with <channel index>:/],
    ["-1:5", 1, /start with <channel index>:/],
    [" 0:5", 1, /start with <channel index>:/],
    ["1:5", 1, /past the 1 channels/],
    ["0:5", 2, /1 positions for 2 channels/],
    ["0:5.6.7", 2, /3 positions for 2 channels/],
    ["0:5.x", 2, /whole numbers/],
    ["0:-5", 1, /whole numbers/],
    ["0:+5", 1, /whole numbers/],
    ["0: 5", 1, /whole numbers/],
    ["0:1e3", 1, /whole numbers/],
    ["0:1234567890123456", 1, /whole numbers/],
  ])("refuses %j for %i channels", (text, channels, problem) => {
    const parsed = parseCursor(text, channels);
    expect(parsed).toHaveProperty("problem");
    expect((parsed as { problem: string }).problem).toMatch(problem);
  });
});
