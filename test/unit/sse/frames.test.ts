import { describe, expect, it } from "vitest";
import { lostEventsFrame } from "../../../src/events/lost-events";
import { encodeEvent, encodeText, formatEvent, toWellFormedText, type SseEvent } from "../../../src/sse/codec";
import { parseFrames, type RelayFrame } from "../../../src/sse/frames";

const bytes = (text: string) => encodeText(text);

describe("parseFrames: the relay's own frames", () => {
  const cases: [string, string, RelayFrame[]][] = [
    ["id and data", "id: 7\ndata: x\n\n", [{ id: 7, event: null, data: "x" }]],
    ["named event", "id: 8\nevent: update\ndata: x\n\n", [{ id: 8, event: "update", data: "x" }]],
    ["several data lines join with LF", "id: 1\ndata: a\ndata: b\n\n", [{ id: 1, event: null, data: "a\nb" }]],
    ["empty data", "id: 2\ndata: \n\n", [{ id: 2, event: null, data: "" }]],
    ["empty lines inside data", "id: 3\ndata: a\ndata: \ndata: \n\n", [{ id: 3, event: null, data: "a\n\n" }]],
    ["a leading space survives", "id: 4\ndata:  x\n\n", [{ id: 4, event: null, data: " x" }]],
    [
      "data that looks like fields",
      "id: 5\ndata: id: 9\ndata: event: e\n\n",
      [{ id: 5, event: null, data: "id: 9\nevent: e" }],
    ],
    ["no id (relay.lost)", "event: relay.lost\ndata: {}\n\n", [{ id: null, event: "relay.lost", data: "{}" }]],
    ["unicode", "id: 6\ndata: héllo 世界 🎉\n\n", [{ id: 6, event: null, data: "héllo 世界 🎉" }]],
    ["U+FFFD from toWellFormedText", "id: 6\ndata: \uFFFD\n\n", [{ id: 6, event: null, data: "\uFFFD" }]],
    ["comments are skipped", ": heartbeat\n\nid: 9\ndata: x\n\n", [{ id: 9, event: null, data: "x" }]],
    ["nothing", "", []],
    [
      "several frames in one chunk",
      "id: 1\ndata: a\n\nid: 2\nevent: e\ndata: b\n\n",
      [
        { id: 1, event: null, data: "a" },
        { id: 2, event: "e", data: "b" },
      ],
    ],
    ["the largest id", "id: 9007199254740991\ndata: x\n\n", [{ id: 9007199254740991, event: null, data: "x" }]],
  ];
  it.each(cases)("%s", (_name, wire, frames) => {
    expect(parseFrames(bytes(wire))).toEqual(frames);
  });

  const refused: [string, string][] = [
    ["a frame cut short", "id: 1\ndata: x\n"],
    ["no blank line at all", "id: 1\ndata: x"],
    ["a frame without data", "id: 1\n\n"],
    ["a non-numeric id", "id: x\ndata: y\n\n"],
    ["a field the relay never writes", "id: 1\nretry: 5\ndata: y\n\n"],
    ["a field without its space", "id: 1\ndata:y\n\n"],
  ];
  it.each(refused)("refuses %s", (_name, wire) => {
    expect(() => parseFrames(bytes(wire))).toThrow(TypeError);
  });

  it("round-trips formatEvent for CR-free data", () => {
    const events: SseEvent[] = [
      { id: "1", data: "plain" },
      { id: "2", event: "update", data: '{"a":[1,2]}' },
      { id: "3", data: "line 1\nline 2\n" },
      { id: "4", data: "" },
      { id: "5", event: "e v", data: " spaced: colon " },
      { id: "6", data: toWellFormedText("\uD83D\uDE00 lone \uD83D end \uDC00") },
      { id: "7", data: "\u2028\u2029\u0085 tab\tnul-free" },
    ];
    const wire = events.map((event) => formatEvent(event)).join("");
    const frames = parseFrames(bytes(wire));
    expect(frames.map((frame) => formatEvent(toSseEvent(frame))).join("")).toBe(wire);
    expect(frames.map((frame) => frame.data)).toEqual(events.map((event) => event.data));
  });

  it("reads what the relay writes for stored events and lost-event notices", () => {
    const chunk = new Uint8Array([
      ...bytes(lostEventsFrame({ reason: "history-pruned", lastEventId: 3, firstAvailableId: 10 })),
      ...encodeEvent({ id: "10", event: "x", data: "a\nb" }),
    ]);
    const [lost, event] = parseFrames(chunk);
    expect(lost).toMatchObject({ id: null, event: "relay.lost" });
    expect(JSON.parse(lost!.data)).toEqual({ reason: "history-pruned", lastEventId: "3", firstAvailableId: "10" });
    expect(event).toEqual({ id: 10, event: "x", data: "a\nb" });
  });
});

function toSseEvent(frame: RelayFrame): SseEvent {
  return {
    data: frame.data,
    ...(frame.id === null ? {} : { id: String(frame.id) }),
    ...(frame.event === null ? {} : { event: frame.event }),
  };
}
