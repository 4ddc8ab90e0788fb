/**
 * Mercure updates (src/mercure/update.ts) against draft-dunglas-mercure-08
 * §Publication (every MUST-refuse has a row), the stored envelope, and the SSE
 * frame read back by eventsource-parser.
 */
import { createParser, type EventSourceMessage } from "eventsource-parser";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { refusal } from "../../support/mercure-refusal";
import { MercureRefused } from "../../../src/mercure/errors";
import type { MercureMode } from "../../../src/config";
import { EARLIEST, HUB_PATH, requestedLastEventId } from "../../../src/mercure/protocol";
import {
  decodeEnvelope,
  encodeEnvelope,
  formatMercureEvent,
  generateUpdateId,
  type MercureUpdate,
  parsePublishForm,
} from "../../../src/mercure/update";
import { SEED } from "../seed";

const HUB = new URL(`https://hub.example.com${HUB_PATH}`);
const LIMITS = { maxDataBytes: 16, maxFieldLength: 64, maxTopics: 3 };

beforeAll(() => console.log(`property seed: ${SEED} (replay: TEST_SEED=${SEED} npm test)`));

const publish = (body: string | Uint8Array, mode: MercureMode = "draft") => parsePublishForm(body, mode, HUB, LIMITS);

describe("parsePublishForm: accepted (§Publication)", () => {
  const rows: Array<[string, string, MercureMode, ReturnType<typeof publish>]> = [
    [
      "the draft's example",
      "topic=https://example.com/foo&data=the%20content",
      "draft",
      { topics: ["https://example.com/foo"], data: "the content", private: false },
    ],
    ["data is optional", "topic=a", "draft", { topics: ["a"], data: "", private: false }],
    [
      "id, type, retry",
      "topic=a&data=x&id=urn%3Auuid%3A1&type=book.updated&retry=2500",
      "draft",
      { topics: ["a"], data: "x", id: "urn:uuid:1", type: "book.updated", retry: 2500, private: false },
    ],
    ["private=on", "topic=a&private=on", "draft", { topics: ["a"], data: "", private: true }],
    ["private with an empty value", "topic=a&private=", "draft", { topics: ["a"], data: "", private: true }],
    ["private with no =", "topic=a&private", "draft", { topics: ["a"], data: "", private: true }],
    ["private's value is never read", "topic=a&private=false", "draft", { topics: ["a"], data: "", private: true }],
    [
      "empty id, type and retry are absent",
      "topic=a&id=&type=&retry=",
      "draft",
      { topics: ["a"], data: "", private: false },
    ],
    [
      "+ is a space, line breaks kept",
      "topic=a&data=a+b%0Ac",
      "draft",
      { topics: ["a"], data: "a b\nc", private: false },
    ],
    ["unknown fields are ignored", "topic=a&foo=bar&target=x", "draft", { topics: ["a"], data: "", private: false }],
    [
      "an id may be any IRI",
      "topic=a&id=https%3A%2F%2Fexample.com%2Fe%2F1",
      "draft",
      { topics: ["a"], data: "", id: "https://example.com/e/1", private: false },
    ],
    ["UTF-8 data", "topic=a&data=%C3%A9%F0%9F%98%80", "draft", { topics: ["a"], data: "é😀", private: false }],
    [
      "data exactly at the byte cap",
      `topic=a&data=${"%C3%A9".repeat(8)}`,
      "draft",
      { topics: ["a"], data: "é".repeat(8), private: false },
    ],
    [
      "pre-standard: several topics, in order",
      "topic=b&topic=a&topic=c",
      "legacy",
      { topics: ["b", "a", "c"], data: "", private: false },
    ],
    [
      "a topic merely near the reserved path",
      "topic=%2F.well-known%2Fmercurex",
      "draft",
      { topics: ["/.well-known/mercurex"], data: "", private: false },
    ],
    [
      "an encoded slash is no path separator (only unreserved octets are decoded)",
      "topic=%2F.well-known%2Fmercure%252Fx",
      "draft",
      { topics: ["/.well-known/mercure%2Fx"], data: "", private: false },
    ],
    [
      "the reserved path in another case is another path",
      "topic=%2F.well-known%2FMercure%2Fx",
      "draft",
      { topics: ["/.well-known/Mercure/x"], data: "", private: false },
    ],
    [
      "a canonical topic and alternate topics, in order (§Publication)",
      "topic=https%3A%2F%2Fexample.com%2Fbooks%2F1&topic=https%3A%2F%2Fexample.com%2Fusers%2F42%2Fbooks%2F1&private=on",
      "draft",
      {
        topics: ["https://example.com/books/1", "https://example.com/users/42/books/1"],
        data: "",
        private: true,
      },
    ],
    [
      "a type that differs from the reserved one by case",
      "topic=a&type=Mercure",
      "draft",
      { topics: ["a"], data: "", type: "Mercure", private: false },
    ],
    [
      "pre-standard: the * topic, a TAB in the id, the mercure type (that protocol's rules)",
      "topic=*&id=a%09b&type=mercure",
      "legacy",
      { topics: ["*"], data: "", id: "a\tb", type: "mercure", private: false },
    ],
    [
      "pre-standard: a format character in a topic (that protocol's rules)",
      "topic=a%E2%80%8Bb",
      "legacy",
      { topics: ["a\u200bb"], data: "", private: false },
    ],
  ];
  it.each(rows)("%s", (_name, body, mode, expected) => {
    expect(publish(body, mode)).toEqual(expected);
  });

  it("takes the body as bytes too", () => {
    expect(publish(new TextEncoder().encode("topic=a&data=%C3%A9"))).toEqual({
      topics: ["a"],
      data: "é",
      private: false,
    });
  });
});

describe("parsePublishForm: refused (§Publication, §Terminology)", () => {
  const rows: Array<[string, string | Uint8Array, MercureMode, number, RegExp]> = [
    ["no topic", "data=x", "draft", 400, /no topic/],
    ["more topics than the cap", "topic=a&topic=b&topic=c&topic=d", "draft", 413, /at most 3/],
    ["more topics than the cap (pre-standard)", "topic=a&topic=b&topic=c&topic=d", "legacy", 413, /at most 3/],
    ["a topic that is exactly * (§Matcher Types: not addressable)", "topic=*", "draft", 400, /exactly "\*"/],
    ["an alternate topic that is exactly *", "topic=a&topic=*", "draft", 400, /exactly "\*"/],
    ["a zero width space (Cf) in the topic", "topic=a%E2%80%8Bb", "draft", 400, /format characters/],
    ["a right-to-left override (Cf) in the topic", "topic=a%E2%80%AEb", "draft", 400, /format characters/],
    ["a byte order mark (Cf) in the topic", "topic=%EF%BB%BFa", "draft", 400, /format characters/],
    ["a soft hyphen (Cf) in the topic", "topic=a%C2%ADb", "draft", 400, /format characters/],
    ["a language tag (Cf, astral) in the topic", "topic=a%F3%A0%80%81", "draft", 400, /format characters/],
    ["a format character in an alternate topic", "topic=a&topic=b%E2%81%A0", "draft", 400, /format characters/],
    ["an empty topic", "topic=", "draft", 400, /empty/],
    ["a NUL in the topic", "topic=a%00", "draft", 400, /control/],
    ["a U+001F in the topic", "topic=a%1F", "draft", 400, /control/],
    ["a DEL in the topic", "topic=a%7F", "draft", 400, /control/],
    ["a U+0080 in the topic", "topic=a%C2%80", "draft", 400, /control/],
    ["a U+009F in the topic", "topic=a%C2%9F", "legacy", 400, /control/],
    ["a topic past the length cap", `topic=${"a".repeat(65)}`, "draft", 413, /at most 64/],
    ["invalid UTF-8 in data", "topic=a&data=%E9", "draft", 400, /UTF-8/],
    ["invalid UTF-8 in the topic", "topic=%C3", "draft", 400, /UTF-8/],
    [
      "a raw invalid byte in a byte body",
      new Uint8Array([0x74, 0x6f, 0x70, 0x69, 0x63, 0x3d, 0xff]),
      "draft",
      400,
      /UTF-8/,
    ],
    [
      "the reserved namespace (relative path)",
      "topic=%2F.well-known%2Fmercure%2Fsubscriptions%2Fx",
      "draft",
      400,
      /reserved/,
    ],
    ["the reserved namespace itself", "topic=%2F.well-known%2Fmercure", "draft", 400, /reserved/],
    [
      "the reserved namespace, absolute on the hub",
      "topic=https%3A%2F%2Fhub.example.com%2F.well-known%2Fmercure%2Fsubscriptions",
      "draft",
      400,
      /reserved/,
    ],
    [
      "the reserved namespace, any authority",
      "topic=https%3A%2F%2Fother.example%2F.well-known%2Fmercure%2Fx",
      "draft",
      400,
      /reserved/,
    ],
    ["the reserved namespace, any scheme", "topic=foo%3A%2F.well-known%2Fmercure%2Fx", "draft", 400, /reserved/],
    ["the reserved namespace, relative reference", "topic=mercure%2Fsubscriptions", "draft", 400, /reserved/],
    [
      "the reserved namespace, dot segments",
      "topic=%2Fa%2F..%2F.well-known%2F.%2Fmercure%2Fx",
      "draft",
      400,
      /reserved/,
    ],
    [
      "the reserved namespace, /.well-known/mercure/../mercure/… (§Publication's example)",
      "topic=%2F.well-known%2Fmercure%2F..%2Fmercure%2Fsubscriptions",
      "draft",
      400,
      /reserved/,
    ],
    ["the reserved namespace, percent-encoded dot", "topic=%2F%252Ewell-known%2Fmercure%2Fx", "draft", 400, /reserved/],
    [
      "the reserved namespace, /.well-known/%6Dercure/… (§Publication's example)",
      "topic=%2F.well-known%2F%256Dercure%2Fx",
      "draft",
      400,
      /reserved/,
    ],
    [
      "the reserved namespace, every letter encoded, lower-case hex",
      "topic=%2F%252e%2577%2565%256c%256c-known%2F%256d%2565%2572%2563%2575%2572%2565",
      "draft",
      400,
      /reserved/,
    ],
    [
      "the reserved namespace, encoded ~ and _ decoded too",
      "topic=%2F.well-known%2Fmercure%2F%257E%255F",
      "draft",
      400,
      /reserved/,
    ],
    [
      "the reserved namespace in an alternate topic",
      "topic=https%3A%2F%2Fexample.com%2Fa&topic=%2F.well-known%2Fmercure%2Fx",
      "draft",
      400,
      /reserved/,
    ],
    [
      "the reserved namespace (pre-standard: 403, as that protocol's hubs answer)",
      "topic=a&topic=%2F.well-known%2Fmercure%2Fx",
      "legacy",
      403,
      /reserved/,
    ],
    [
      "the reserved namespace, encoded letters (pre-standard)",
      "topic=%2F.well-known%2F%256Dercure%2Fx",
      "legacy",
      403,
      /reserved/,
    ],
    ["an id starting with #", "topic=a&id=%231", "draft", 400, /#/],
    ["an id with LF", "topic=a&id=a%0Ab", "draft", 400, /control characters/],
    ["an id with CR", "topic=a&id=a%0Db", "draft", 400, /control characters/],
    ["an id with NUL", "topic=a&id=a%00b", "draft", 400, /control characters/],
    ["an id with TAB (C0)", "topic=a&id=a%09b", "draft", 400, /control characters/],
    ["an id with DEL", "topic=a&id=a%7Fb", "draft", 400, /control characters/],
    ["an id with a C1 control (U+0085)", "topic=a&id=a%C2%85b", "draft", 400, /control characters/],
    ["an id with a zero width joiner (Cf)", "topic=a&id=a%E2%80%8Db", "draft", 400, /format characters/],
    ["an id with LF (pre-standard)", "topic=a&id=a%0Ab", "legacy", 400, /CR, LF or NUL/],
    ["the reserved id earliest", "topic=a&id=earliest", "draft", 400, /reserved/],
    ["an id past the length cap", `topic=a&id=${"i".repeat(65)}`, "draft", 413, /at most 64/],
    ["a type with LF", "topic=a&type=a%0Ab", "draft", 400, /control characters/],
    ["a type with CR", "topic=a&type=a%0D", "draft", 400, /control characters/],
    ["a type with TAB (C0)", "topic=a&type=a%09b", "draft", 400, /control characters/],
    ["a type with DEL", "topic=a&type=a%7F", "draft", 400, /control characters/],
    ["a type with a C1 control (U+009B)", "topic=a&type=a%C2%9B", "draft", 400, /control characters/],
    ["a type with a left-to-right mark (Cf)", "topic=a&type=a%E2%80%8E", "draft", 400, /format characters/],
    [
      "the reserved type mercure (§Publication: no forged hub events)",
      "topic=a&type=mercure",
      "draft",
      400,
      /reserved/,
    ],
    ["a type with CR (pre-standard)", "topic=a&type=a%0D", "legacy", 400, /CR, LF or NUL/],
    ["a type past the length cap", `topic=a&type=${"t".repeat(65)}`, "draft", 413, /at most 64/],
    ["a retry with a letter", "topic=a&retry=12a", "draft", 400, /ASCII digits/],
    ["a negative retry", "topic=a&retry=-1", "draft", 400, /ASCII digits/],
    ["a fractional retry", "topic=a&retry=1.5", "draft", 400, /ASCII digits/],
    ["a retry with a space", "topic=a&retry=+1", "draft", 400, /ASCII digits/],
    ["a retry in non-ASCII digits", "topic=a&retry=%EF%BC%91", "draft", 400, /ASCII digits/],
    ["a retry past 2^31 - 1", "topic=a&retry=2147483648", "draft", 400, /at most/],
    [
      "data past the byte cap (UTF-8 bytes, not characters)",
      `topic=a&data=${"%C3%A9".repeat(9)}`,
      "draft",
      413,
      /16 bytes/,
    ],
    ["a repeated data field", "topic=a&data=1&data=2", "draft", 400, /more than once/],
    ["a repeated id field", "topic=a&id=1&id=2", "legacy", 400, /more than once/],
  ];
  it.each(rows)("refuses %s", (_name, body, mode, status, message) => {
    const error = refusal(() => publish(body, mode));
    expect(error.status).toBe(status);
    expect(error.message).toMatch(message);
  });
});

describe("ids, envelope and SSE frame", () => {
  it("generates urn:uuid ids, each different", () => {
    const first = generateUpdateId();
    expect(first).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(generateUpdateId()).not.toBe(first);
  });

  const update: MercureUpdate = {
    id: "urn:uuid:1",
    topics: ["https://example.com/books/1", "/books/1"],
    data: "line 1\nline 2",
    type: "update",
    retry: 1500,
    private: true,
  };

  it("stores updates as compact JSON, absent fields left out", () => {
    expect(encodeEnvelope(update)).toBe(
      '{"i":"urn:uuid:1","t":["https://example.com/books/1","/books/1"],"d":"line 1\\nline 2","y":"update","r":1500,"p":1}',
    );
    expect(encodeEnvelope({ id: "x", topics: ["a"], data: "", private: false })).toBe('{"i":"x","t":["a"],"d":""}');
  });

  it("round-trips any update through the envelope (randomized, seeded)", () => {
    const updates = fc.record(
      {
        id: fc.string({ minLength: 1 }),
        topics: fc.array(fc.string({ minLength: 1 }), { minLength: 1, maxLength: 4 }),
        data: fc.string({ unit: "grapheme" }),
        type: fc.string(),
        retry: fc.nat(),
        private: fc.boolean(),
      },
      { requiredKeys: ["id", "topics", "data", "private"] },
    );
    fc.assert(
      fc.property(updates, (value) => {
        expect(decodeEnvelope(encodeEnvelope(value))).toEqual(value);
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  it.each([
    ["not JSON", "nope"],
    ["not an object", "[]"],
    ["no topics", '{"i":"x","t":[],"d":""}'],
    ["a topic that is not a string", '{"i":"x","t":[1],"d":""}'],
    ["no data", '{"i":"x","t":["a"]}'],
    ["a bad private flag", '{"i":"x","t":["a"],"d":"","p":2}'],
    ["a negative retry", '{"i":"x","t":["a"],"d":"","r":-1}'],
  ])("refuses an envelope with %s", (_name, text) => {
    expect(() => decodeEnvelope(text)).toThrow();
  });

  function read(text: string): { events: EventSourceMessage[]; retry: number | undefined } {
    const events: EventSourceMessage[] = [];
    let retry: number | undefined;
    const parser = createParser({ onEvent: (event) => events.push(event), onRetry: (value) => (retry = value) });
    parser.feed(text);
    return { events, retry };
  }

  it("frames an update as retry, id, event and data lines", () => {
    expect(formatMercureEvent(update)).toBe(
      "retry: 1500\nid: urn:uuid:1\nevent: update\ndata: line 1\ndata: line 2\n\n",
    );
    expect(formatMercureEvent({ id: "x", topics: ["a"], data: "", private: false })).toBe("id: x\ndata: \n\n");
    const { events, retry } = read(formatMercureEvent(update));
    expect(retry).toBe(1500);
    expect(events).toEqual([{ id: "urn:uuid:1", event: "update", data: "line 1\nline 2" }]);
  });

  it("every published update reads back as the same event (randomized, seeded)", () => {
    const forms = fc.record({
      data: fc.string({ unit: "grapheme" }),
      id: fc.string({ minLength: 1, maxLength: 20 }),
      type: fc.string({ minLength: 1, maxLength: 20 }),
    });
    fc.assert(
      fc.property(forms, ({ data, id, type }) => {
        const body = new URLSearchParams({ topic: "a", data, id, type }).toString();
        let fields: ReturnType<typeof publish>;
        try {
          fields = parsePublishForm(body, "draft", HUB, { maxDataBytes: 1_000_000 });
        } catch (error) {
          // Only ids and types the draft forbids may be refused.
          expect(error).toBeInstanceOf(MercureRefused);
          const forbidden = /[\p{Cc}\p{Cf}]/u; // Cc: exactly C0, DEL and C1
          expect(forbidden.test(id + type) || id.startsWith("#") || id === "earliest" || type === "mercure").toBe(true);
          return;
        }
        const { events } = read(formatMercureEvent({ ...fields, id: fields.id ?? generateUpdateId() }));
        expect(events).toHaveLength(1);
        expect(events[0]!.data).toBe(data.replace(/\r\n|\r/g, "\n"));
        expect(events[0]!.id).toBe(id);
        expect(events[0]!.event).toBe(type);
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  it("refuses to frame an id or type that would break the stream", () => {
    expect(() => formatMercureEvent({ ...update, id: "a\nevent: evil" })).toThrow(TypeError);
    expect(() => formatMercureEvent({ ...update, type: "a\rdata: evil" })).toThrow(TypeError);
  });
});

describe("requestedLastEventId (§Reconciliation)", () => {
  const request = (search: string, headers: Record<string, string> = {}) =>
    new Request(`${HUB.href}${search}`, { headers });
  it.each<[string, string, Record<string, string>, MercureMode, string | null]>([
    ["the header", "?match=a", { "Last-Event-ID": "urn:uuid:1" }, "draft", "urn:uuid:1"],
    ["the header over the query parameter", "?last_event_id=q", { "Last-Event-ID": "h" }, "draft", "h"],
    ["the last_event_id query parameter", "?last_event_id=urn%3Auuid%3A2", {}, "draft", "urn:uuid:2"],
    ["the first of two last_event_id (single-valued)", "?last_event_id=a&last_event_id=b", {}, "draft", "a"],
    ["the reserved earliest", `?last_event_id=${EARLIEST}`, {}, "draft", EARLIEST],
    ["nothing", "?match=a", {}, "draft", null],
    ["an empty header and parameter, as absent", "?last_event_id=", { "Last-Event-ID": "" }, "draft", null],
    ["not an earlier revision's lastEventID in draft mode", "?lastEventID=x", {}, "draft", null],
    ["not the pre-standard query name in draft mode", "?Last-Event-ID=x", {}, "draft", null],
    ["the pre-standard query name in that mode", "?Last-Event-ID=x", {}, "legacy", "x"],
    ["lastEventID in the pre-standard mode", "?lastEventID=y&Last-Event-ID=x", {}, "legacy", "y"],
    ["not last_event_id in the pre-standard mode", "?last_event_id=y", {}, "legacy", null],
  ])("reads %s", (_name, search, headers, mode, expected) => {
    expect(requestedLastEventId(request(search, headers), mode)).toBe(expected);
  });
});
