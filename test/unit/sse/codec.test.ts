import { createParser, type EventSourceMessage } from "eventsource-parser";
import { describe, expect, it } from "vitest";
import {
  concatBytes,
  encodeEvent,
  formatComment,
  formatEvent,
  formatRetry,
  isSafeFieldValue,
  type SseEvent,
} from "../../../src/sse/codec";

/** Parses stream text with eventsource-parser, feeding it in the given chunk sizes. */
function parse(text: string, chunkSize = text.length || 1): EventSourceMessage[] {
  const events: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (event) => events.push(event) });
  for (let offset = 0; offset < text.length; offset += chunkSize) parser.feed(text.slice(offset, offset + chunkSize));
  return events;
}

/** What a spec-conforming client must hand the page: line breaks normalized to LF. */
const normalized = (data: string) => data.replace(/\r\n|\r/g, "\n");

describe("formatEvent: exact wire text", () => {
  const cases: [string, SseEvent, string][] = [
    ["plain data", { data: "hello" }, "data: hello\n\n"],
    ["id and event name", { id: "7", event: "update", data: "x" }, "id: 7\nevent: update\ndata: x\n\n"],
    ["LF splits lines", { data: "a\nb" }, "data: a\ndata: b\n\n"],
    ["CR splits lines", { data: "a\rb" }, "data: a\ndata: b\n\n"],
    ["CRLF is one break", { data: "a\r\nb" }, "data: a\ndata: b\n\n"],
    ["LF CR is two breaks", { data: "a\n\rb" }, "data: a\ndata: \ndata: b\n\n"],
    ["empty data still dispatches", { data: "" }, "data: \n\n"],
    ["trailing newline kept as empty last line", { data: "a\n" }, "data: a\ndata: \n\n"],
    ["leading space survives (one space is the separator)", { data: " x" }, "data:  x\n\n"],
    ["colon in data is plain text", { data: "key: value" }, "data: key: value\n\n"],
    [
      "data that looks like fields",
      { data: "id: 99\nevent: evil\n\ndata: x" },
      "data: id: 99\ndata: event: evil\ndata: \ndata: data: x\n\n",
    ],
    ["unicode", { data: "héllo 世界 🎉" }, "data: héllo 世界 🎉\n\n"],
  ];
  it.each(cases)("%s", (_name, event, wire) => {
    expect(formatEvent(event)).toBe(wire);
  });

  it("refuses CR, LF or NUL in id and event (they would inject frames)", () => {
    for (const bad of ["a\nb", "a\rb", "a\0b", "\r\n"]) {
      expect(() => formatEvent({ event: bad, data: "x" })).toThrow(/CR, LF or NUL/);
      expect(() => formatEvent({ id: bad, data: "x" })).toThrow(/CR, LF or NUL/);
      expect(isSafeFieldValue(bad)).toBe(false);
    }
    expect(isSafeFieldValue("fine name: with spaces")).toBe(true);
  });

  it("encodes UTF-8 bytes once", () => {
    const bytes = encodeEvent({ id: "1", data: "é" });
    expect(new TextDecoder().decode(bytes)).toBe("id: 1\ndata: é\n\n");
    expect(bytes.byteLength).toBe("id: 1\ndata: ".length + 2 + 2);
  });

  it("formats comments and retry", () => {
    expect(formatComment("heartbeat")).toBe(": heartbeat\n\n");
    expect(formatComment("two\nlines")).toBe(": two\n: lines\n\n");
    expect(formatRetry(2000)).toBe("retry: 2000\n\n");
    expect(() => formatRetry(-1)).toThrow(RangeError);
  });

  it("concatenates frames into one buffer", () => {
    const joined = concatBytes([encodeEvent({ data: "a" }), encodeEvent({ data: "b" })]);
    expect(new TextDecoder().decode(joined)).toBe("data: a\n\ndata: b\n\n");
  });
});

describe("round trip through eventsource-parser", () => {
  const corpus: string[] = [
    "",
    "simple",
    "multi\nline\ndata",
    "cr\ronly",
    "crlf\r\nline",
    "mixed\n\r\r\n\nbreaks",
    "\n",
    "\n\n\n",
    "trailing\n",
    "\nleading",
    "  two leading spaces",
    "data: looks like a field",
    "id: 5",
    "event: close",
    "retry: 1",
    ": a comment",
    "\n\ndata: injected\n\n",
    "tab\tand\u000bvertical",
    "emoji 🧪 and CJK 漢字 and RTL مرحبا",
    "\u2028line separator\u2029paragraph separator",
    "nul\u0000inside",
    '{"json": ["value", 1, null]}',
    "x".repeat(10_000),
  ];

  it.each(corpus.map((data, index) => [index, data] as const))("payload %i parses back exactly", (_index, data) => {
    const wire = formatEvent({ id: "42", event: "update", data });
    for (const chunkSize of [wire.length, 1, 2, 3, 7]) {
      const events = parse(wire, chunkSize);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ id: "42", event: "update", data: normalized(data) });
    }
  });

  it("a stream of several frames with comments and retry parses into the same events in order", () => {
    const sent: SseEvent[] = corpus.map((data, index) => ({ id: String(index + 1), data }));
    const wire = formatComment("connected") + formatRetry(500) + sent.map(formatEvent).join(formatComment("heartbeat"));
    const events = parse(wire, 5);
    expect(events.map((event) => event.id)).toEqual(sent.map((event) => event.id));
    expect(events.map((event) => event.data)).toEqual(sent.map((event) => normalized(event.data)));
  });

  it("agrees with the spec's own example streams", () => {
    // From the WHATWG HTML standard, "Server-sent events", §9.2.6 examples.
    expect(parse("data: YHOO\ndata: +2\ndata: 10\n\n").map((e) => e.data)).toEqual(["YHOO\n+2\n10"]);
    expect(
      parse(": test stream\n\ndata: first event\nid: 1\n\ndata:second event\nid\n\ndata:  third event\n\n").map(
        (e) => e.data,
      ),
    ).toEqual(["first event", "second event", " third event"]);
    // Our encoder produces the same events for those payloads.
    for (const data of ["YHOO\n+2\n10", "first event", " third event"]) {
      expect(parse(formatEvent({ data }))[0]?.data).toBe(data);
    }
  });
});
