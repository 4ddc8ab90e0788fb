/**
 * The event rules (src/events/event-rules.ts) as tables: what a publish or a
 * Redis entry may carry as a name and as data, and the frame bound. Each row
 * is a case; refusals name their status and code, which the HTTP layer
 * answers and Redis ingestion logs.
 */
import { describe, expect, it } from "vitest";
import { framedSize } from "../../../src/sse/codec";
import { assertFrameSize, EventRefused, parseEventData, parseEventName } from "../../../src/events/event-rules";

const limits = { maxEventBytes: 64 };

function refusal(run: () => unknown): { status: number; code: string } | "accepted" {
  try {
    run();
    return "accepted";
  } catch (error) {
    if (!(error instanceof EventRefused)) throw error;
    return { status: error.status, code: error.code };
  }
}

describe("parseEventName", () => {
  it.each([
    ["absent", undefined, undefined],
    ["null", null, undefined],
    ["a plain name", "page-updated", "page-updated"],
    ["128 characters", "n".repeat(128), "n".repeat(128)],
    ["a name with spaces and Unicode", "état changé ✓", "état changé ✓"],
    ["a name that only mentions relay.", "my.relay.event", "my.relay.event"],
  ])("accepts %s", (_case, value, expected) => {
    expect(parseEventName(value)).toBe(expected);
  });

  it.each([
    ["empty", "", "invalid_event_name"],
    ["129 characters", "n".repeat(129), "invalid_event_name"],
    ["a number", 7, "invalid_event_name"],
    ["an object", { name: "x" }, "invalid_event_name"],
    ["LF (frame injection)", "a\ndata: forged", "invalid_event_name"],
    ["CR", "a\rb", "invalid_event_name"],
    ["NUL", "a\u0000b", "invalid_event_name"],
    ["a lone surrogate", "a\uD800b", "invalid_event_name"],
    ["the relay's own prefix", "relay.lost", "reserved_event_name"],
    ["the bare prefix", "relay.", "reserved_event_name"],
  ])("refuses %s with 400 %s", (_case, value, code) => {
    expect(refusal(() => parseEventName(value))).toEqual({ status: 400, code });
  });
});

describe("parseEventData", () => {
  it.each([
    ["a string, as it is", "hello", "hello"],
    ["an empty string", "", ""],
    ["multi-line text", "a\nb\r\nc", "a\nb\r\nc"],
    ["an object, as its JSON text", { page: 42 }, '{"page":42}'],
    ["a number", 3.5, "3.5"],
    ["false", false, "false"],
    ["null", null, "null"],
    ["64 bytes exactly", "x".repeat(64), "x".repeat(64)],
    ["32 two-byte characters (64 bytes)", "é".repeat(32), "é".repeat(32)],
  ])("accepts %s", (_case, value, expected) => {
    expect(parseEventData(value, limits)).toBe(expected);
  });

  it.each([
    ["absent", undefined, 400, "missing_data"],
    ["a lone surrogate in a string", "a\uDC00", 400, "invalid_data"],
    ["65 bytes", "x".repeat(65), 413, "event_too_large"],
    ["33 two-byte characters (66 bytes)", "é".repeat(33), 413, "event_too_large"],
    ["JSON text past the limit", { text: "x".repeat(60) }, 413, "event_too_large"],
  ])("refuses %s with %i %s", (_case, value, status, code) => {
    expect(refusal(() => parseEventData(value, limits))).toEqual({ status, code });
  });

  it("a lone surrogate inside a JSON value is escaped by JSON.stringify, so it is accepted as text", () => {
    expect(parseEventData({ s: "\uD800" }, limits)).toBe('{"s":"\\ud800"}');
  });
});

describe("assertFrameSize: the frame sent is at most twice MAX_EVENT_BYTES", () => {
  const max = 2 * limits.maxEventBytes;

  it("passes short events without encoding them", () => {
    const input = { data: "short", event: "e" };
    expect(assertFrameSize(input, limits)).toBe(input);
  });

  it("accepts the largest frame and refuses one byte more, newlines costing their data: prefixes", () => {
    // Find the longest run of newlines whose frame fits, by the codec's own measure.
    let lines = 0;
    while (framedSize({ data: "\n".repeat(lines + 1) }) <= max) lines += 1;
    expect(framedSize({ data: "\n".repeat(lines) })).toBeLessThanOrEqual(max);
    expect(refusal(() => assertFrameSize({ data: "\n".repeat(lines) }, limits))).toBe("accepted");
    expect(refusal(() => assertFrameSize({ data: "\n".repeat(lines + 1) }, limits))).toEqual({
      status: 413,
      code: "event_too_large",
    });
    // Data within MAX_EVENT_BYTES can still make a frame past the bound.
    expect(lines + 1).toBeLessThanOrEqual(limits.maxEventBytes);
  });

  it("counts the event name too", () => {
    const data = "x".repeat(limits.maxEventBytes);
    expect(refusal(() => assertFrameSize({ data }, limits))).toBe("accepted");
    expect(refusal(() => assertFrameSize({ data, event: "n".repeat(128) }, limits))).toEqual({
      status: 413,
      code: "event_too_large",
    });
  });
});
