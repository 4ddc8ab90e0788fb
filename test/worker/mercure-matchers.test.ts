/**
 * Mercure topic matchers (src/mercure/matchers.ts, linear-pattern.ts) against
 * draft-dunglas-mercure-08 §Subscription and §Matcher Types, the restricted
 * URL pattern / URI template subset, and the linear-time guarantee (asserted
 * on step counts, never on time).
 *
 * In workerd, not plain Node: the matchers parse every URL pattern with the
 * runtime's own URLPattern, and the property below takes it as reference, so
 * it must be the one production runs (Node's has its own implementation).
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { refusal } from "../support/mercure-refusal";
import { type Atom, LinearPattern } from "../../src/mercure/linear-pattern";
import { MERCURE_LIMITS } from "../../src/mercure/limits";
import { compileMatcher, type MatcherType, matchesAny, parseSubscribeQuery } from "../../src/mercure/matchers";
import { parseRegExp, RegularPattern } from "../../src/mercure/regular";
import { SEED } from "./seed";

const HUB = new URL("https://hub.example.com/.well-known/mercure");
const LIMITS = { maxMatchers: 4, maxPatternLength: 200, maxMatcherCost: 8 };

beforeAll(() => console.log(`property seed: ${SEED} (replay: TEST_SEED=${SEED} npm test)`));

function query(search: string): URL {
  return new URL(`${HUB.href}?${search}`);
}

describe("parseSubscribeQuery, draft mode (§Subscription)", () => {
  it("the spec's example: two match and one match_urlpattern, built with URLSearchParams as EventSource users do", () => {
    // draft-08 §Subscription, the example: url.searchParams.append('match', …) x2, ('match_urlpattern', …).
    const url = new URL(HUB);
    url.searchParams.append("match", "https://example.com/foo");
    url.searchParams.append("match", "bar");
    url.searchParams.append("match_urlpattern", "https://example.com/bar/:id");
    const matchers = parseSubscribeQuery(url, "draft", LIMITS, HUB);
    expect(matchers.map((matcher) => [matcher.type, matcher.pattern])).toEqual([
      ["exact", "https://example.com/foo"],
      ["exact", "bar"],
      ["urlpattern", "https://example.com/bar/:id"],
    ]);
    expect(matchesAny(matchers, ["https://example.com/foo"])).toBe(true);
    expect(matchesAny(matchers, ["bar"])).toBe(true);
    expect(matchesAny(matchers, ["https://example.com/bar/7"])).toBe(true);
    expect(matchesAny(matchers, ["https://example.com/baz"])).toBe(false);
  });

  it("match_exact is the explicit spelling of match; * selects every topic under either parameter", () => {
    const matchers = parseSubscribeQuery(query("match_exact=baz&match_urlpattern=*"), "draft", LIMITS, HUB);
    expect(matchers.map((matcher) => [matcher.type, matcher.pattern])).toEqual([
      ["exact", "baz"],
      ["urlpattern", "*"],
    ]);
    expect(matchesAny(matchers, ["not even a URL"])).toBe(true);
    expect(matchesAny(parseSubscribeQuery(query("match=*"), "draft", LIMITS, HUB), ["urn:x"])).toBe(true);
  });

  it("a name without a value is that name with an empty value (an exact matcher of the empty string)", () => {
    expect(parseSubscribeQuery(query("match"), "draft", LIMITS, HUB).map((matcher) => matcher.pattern)).toEqual([""]);
  });

  it("ignores parameters outside the match prefix (last_event_id, anything else)", () => {
    const matchers = parseSubscribeQuery(query("last_event_id=earliest&foo=1&match=a"), "draft", LIMITS, HUB);
    expect(matchers.map((matcher) => matcher.pattern)).toEqual(["a"]);
  });

  it("counts identical selectors once (the draft lets hubs deduplicate)", () => {
    expect(parseSubscribeQuery(query("match=a&match_exact=a&match=a"), "draft", LIMITS, HUB)).toHaveLength(1);
  });

  const refused: Array<[string, string, RegExp]> = [
    // §Subscription: names are case-sensitive; the whole `match` prefix (any case) is reserved.
    ["an unknown matcher type", "match_uritemplate=x", /match_uritemplate.*reserved/],
    ["a registered type this hub lacks (match_regex)", "match_regex=x", /reserved/],
    ["the canonical case only (Match)", "Match=x", /reserved/],
    ["the canonical case only (MATCH)", "MATCH=x", /reserved/],
    ["the canonical case only (match_Exact)", "match_Exact=x", /reserved/],
    ["the canonical case only (match_URLPattern)", "match_URLPattern=x", /reserved/],
    ["an earlier revision's name (matchExact)", "matchExact=x", /reserved/],
    ["an earlier revision's name (matchURLPattern)", "matchURLPattern=x", /reserved/],
    ["the bare prefix with a separator (match_)", "match_=x", /reserved/],
    ["the whole match prefix (matches)", "match=a&matches=1", /reserved/],
    ["the whole match prefix (MATCHER)", "MATCHER=1&match=a", /reserved/],
    ["a NUL", "match=a%00b", /control/],
    ["a LF", "match=a%0Ab", /control/],
    ["a DEL", "match=a%7Fb", /control/],
    ["a C1 control (U+0085)", "match=a%C2%85b", /control/],
    ["a zero width space (Cf)", "match=a%E2%80%8Bb", /format characters/],
    ["a byte order mark (Cf)", "match_exact=%EF%BB%BFa", /format characters/],
    [
      "a right-to-left override (Cf) in a URL pattern",
      "match_urlpattern=https%3A%2F%2Fe.com%2F%E2%80%AE",
      /format characters/,
    ],
    ["a control in a URL pattern", `match_urlpattern=${encodeURIComponent("https://e.com/\u0001")}`, /control/],
    ["invalid UTF-8", "match=%FF", /UTF-8/],
    ["an overlong UTF-8 sequence", "match=%C0%AF", /UTF-8/],
    ["a lone surrogate encoded as UTF-8", "match=%ED%A0%80", /UTF-8/],
    ["more selectors than the cap", "match=a&match=b&match=c&match=d&match=e", /at most 4/],
    ["a pattern longer than the cap", `match=${"a".repeat(201)}`, /at most 200/],
    ["no selector", "last_event_id=x", /at least one/],
    ["the pre-standard topic= in draft mode, saying so", "topic=a", /draft-dunglas-mercure-08.*not topic=/],
    [
      "a value that is not a URL pattern",
      `match_urlpattern=${encodeURIComponent("https://e.com/:")}`,
      /not a valid URL pattern/,
    ],
    [
      "patterns too complex together",
      ["a", "b", "c"]
        .map((x) => `match_urlpattern=${encodeURIComponent(`https://e.com/*${x}${"*x".repeat(40)}`)}`)
        .join("&"),
      /too complex together \(cost 9, at most 8\)/,
    ],
  ];
  it.each(refused)("refuses %s with 400", (_name, search, message) => {
    const error = refusal(() => parseSubscribeQuery(query(search), "draft", LIMITS, HUB));
    expect(error.status).toBe(400);
    expect(error.code).toBe("invalid_request");
    expect(error.message).toMatch(message);
  });
});

describe("parseSubscribeQuery, pre-standard mode", () => {
  it("keeps that protocol's character rule: a format character is no control character", () => {
    expect(parseSubscribeQuery(query("topic=a%E2%80%8Bb"), "legacy", LIMITS, HUB).map((m) => m.pattern)).toEqual([
      "a\u200bb",
    ]);
  });

  it("reads topic= selectors as URI templates and ignores match=", () => {
    const matchers = parseSubscribeQuery(
      query(`topic=${encodeURIComponent("https://example.com/books/{id}")}&topic=*&match=x`),
      "legacy",
      LIMITS,
      HUB,
    );
    expect(matchers.map((matcher) => [matcher.type, matcher.pattern])).toEqual([
      ["uritemplate", "https://example.com/books/{id}"],
      ["uritemplate", "*"],
    ]);
  });

  it.each([
    ["no topic", "match=x", /at least one topic/],
    ["a control character", "topic=a%0Db", /control/],
    ["an unsupported template", `topic=${encodeURIComponent("https://e.com/{#x}")}`, /\{var\} and \{\+var\}/],
  ])("refuses %s with 400", (_name, search, message) => {
    const error = refusal(() => parseSubscribeQuery(query(search), "legacy", LIMITS, HUB));
    expect(error.status).toBe(400);
    expect(error.message).toMatch(message);
  });
});

describe("compileMatcher (§Matcher Types)", () => {
  const rows: Array<[MatcherType, string, string, boolean]> = [
    // * matches everything regardless of type
    ["exact", "*", "anything at all", true],
    ["urlpattern", "*", "not even a URL", true],
    ["uritemplate", "*", "urn:x", true],
    // Exact: byte-for-byte, case-sensitive, never resolved, never normalized
    ["exact", "https://example.com/foo", "https://example.com/foo", true],
    ["exact", "https://example.com/foo", "https://example.com/foo/", false],
    ["exact", "https://example.com/foo", "HTTPS://example.com/foo", false],
    ["exact", "https://example.com/foo", "https://EXAMPLE.com/foo", false],
    ["exact", "foo", "https://hub.example.com/.well-known/foo", false],
    ["exact", "caf\u00e9", "cafe\u0301", false],
    ["exact", "https://example.com/:id", "https://example.com/1", false],
    // URLPattern: per component, like URLPattern.test
    ["urlpattern", "https://example.com/books/:id", "https://example.com/books/1", true],
    ["urlpattern", "https://example.com/books/:id", "https://example.com/books/1?x=1#y", true],
    ["urlpattern", "https://example.com/books/:id", "https://EXAMPLE.com/books/1", true],
    ["urlpattern", "https://example.com/books/:id", "https://example.com/books/1/2", false],
    ["urlpattern", "https://example.com/books/:id", "https://example.com/books/", false],
    ["urlpattern", "https://example.com/books/:id", "https://example.com/Books/1", false],
    ["urlpattern", "https://example.com/books/:id", "http://example.com/books/1", false],
    ["urlpattern", "https://example.com/books/:id", "https://example.com:8443/books/1", false],
    ["urlpattern", "https://example.com/books/:id", "not a url at all", false],
    ["urlpattern", "https://example.com/books/:id", "http://[::1", false],
    ["urlpattern", "https://example.com/files/*", "https://example.com/files/a/b/c", true],
    ["urlpattern", "https://example.com/files/*", "https://example.com/files/", true],
    ["urlpattern", "https://example.com/files/*", "https://example.com/file", false],
    ["urlpattern", "https://example.com/a/:id.json", "https://example.com/a/42.json", true],
    ["urlpattern", "https://example.com/a/:id.json", "https://example.com/a/.json", false],
    ["urlpattern", "https://example.com/a/:x/b/:y", "https://example.com/a/1/b/2", true],
    ["urlpattern", "https://example.com/a/:x/b/:y", "https://example.com/a/1/c/2", false],
    ["urlpattern", "https://:tenant.example.com/x", "https://acme.example.com/x", true],
    ["urlpattern", "https://:tenant.example.com/x", "https://a.b.example.com/x", false],
    ["urlpattern", "*://example.com/x", "wss://example.com/x", true],
    ["urlpattern", ":scheme://example.com/x", "http://example.com/x", true],
    ["urlpattern", "https://example.com/a\\:b/\\*", "https://example.com/a:b/*", true],
    ["urlpattern", "https://example.com/a\\:b/\\*", "https://example.com/a:b/c", false],
    ["urlpattern", "https://example.com/b\u00f6 ks/:id", "https://example.com/b\u00f6 ks/1", true],
    ["urlpattern", "https://example.com/b\u00f6 ks/:id", "https://example.com/b%C3%B6%20ks/1", true],
    ["urlpattern", "https://example.com/x?page=:n", "https://example.com/x?page=2", true],
    ["urlpattern", "https://example.com/x?page=:n", "https://example.com/x?page=2&y", true],
    ["urlpattern", "https://example.com/x?page=:n", "https://example.com/x", false],
    // groups and modifiers (URL Pattern: {…}, ?, +, *; a pathname's / is a group's implicit prefix)
    ["urlpattern", "https://example.com/books{/:id}?", "https://example.com/books", true],
    ["urlpattern", "https://example.com/books{/:id}?", "https://example.com/books/1", true],
    ["urlpattern", "https://example.com/books{/:id}?", "https://example.com/books/", false],
    ["urlpattern", "https://example.com/books{/:id}?", "https://example.com/books/1/2", false],
    ["urlpattern", "https://example.com/books/:id?", "https://example.com/books", true],
    ["urlpattern", "https://example.com/books/:id?", "https://example.com/books/7", true],
    ["urlpattern", "https://example.com/books/:id?", "https://example.com/books7", false],
    ["urlpattern", "https://example.com/a/:path+", "https://example.com/a/1/2/3", true],
    ["urlpattern", "https://example.com/a/:path+", "https://example.com/a", false],
    ["urlpattern", "https://example.com/a/:path*", "https://example.com/a", true],
    ["urlpattern", "https://example.com/a/:path*", "https://example.com/a/x/y", true],
    ["urlpattern", "https://example.com/a/:path*", "https://example.com/a/", false],
    ["urlpattern", "https://example.com/a{-:n}*", "https://example.com/a-1-2", true],
    ["urlpattern", "https://example.com/a{-:n}*", "https://example.com/a", true],
    ["urlpattern", "https://example.com/a{-:n}*", "https://example.com/a-", false],
    ["urlpattern", "https://example.com/a/{x}?/b", "https://example.com/a/x/b", true],
    ["urlpattern", "https://example.com/a/{x}?/b", "https://example.com/a//b", true],
    ["urlpattern", "https://example.com/a/{x}?/b", "https://example.com/a/y/b", false],
    ["urlpattern", "https://example.com/files/*?", "https://example.com/files", true],
    ["urlpattern", "https://example.com/files/*?", "https://example.com/filesx", false],
    ["urlpattern", "https://example.com/files/*?", "https://example.com/files/a/b", true],
    ["urlpattern", "https://example.com/**", "https://example.com/a/b", true],
    ["urlpattern", "https://example.com/:a*:b*", "https://example.com/ab", true],
    ["urlpattern", "http{s}?://example.com/x", "http://example.com/x", true],
    ["urlpattern", "http{s}?://example.com/x", "https://example.com/x", true],
    ["urlpattern", "http{s}?://example.com/x", "ftp://example.com/x", false],
    ["urlpattern", "https://{:sub.}?example.com/x", "https://example.com/x", true],
    ["urlpattern", "https://{:sub.}?example.com/x", "https://api.example.com/x", true],
    ["urlpattern", "https://{:sub.}?example.com/x", "https://a.b.example.com/x", false],
    // regular expression groups, in their regular subset
    ["urlpattern", "https://example.com/books/:id(\\d+)", "https://example.com/books/42", true],
    ["urlpattern", "https://example.com/books/:id(\\d+)", "https://example.com/books/4a", false],
    // A repeated group repeats its implicit / prefix too.
    ["urlpattern", "https://example.com/(a|b)+", "https://example.com/a/b/b/a", true],
    ["urlpattern", "https://example.com/(a|b)+", "https://example.com/abba", false],
    ["urlpattern", "https://example.com/((?:a|b)+)", "https://example.com/abba", true],
    ["urlpattern", "https://example.com/((?:a|b)+)", "https://example.com/abc", false],
    ["urlpattern", "https://example.com/:y(\\d{4})-:m(\\d{2})", "https://example.com/2024-05", true],
    ["urlpattern", "https://example.com/:y(\\d{4})-:m(\\d{2})", "https://example.com/24-05", false],
    ["urlpattern", "https://example.com/:slug([a-z0-9_\\-]+)", "https://example.com/my-post_2", true],
    ["urlpattern", "https://example.com/:slug([a-z0-9_\\-]+)", "https://example.com/My-post", false],
    ["urlpattern", "https://example.com/:v(v[1-3])/x", "https://example.com/v2/x", true],
    ["urlpattern", "https://example.com/:v(v[1-3])/x", "https://example.com/v4/x", false],
    ["urlpattern", "https://example.com/:x((?:ab)*c?)", "https://example.com/ababc", true],
    ["urlpattern", "https://example.com/:x((?:ab)*c?)", "https://example.com/abac", false],
    ["urlpattern", "https://example.com/(.*)/end", "https://example.com/a/b/end", true],
    ["urlpattern", "https://example.com/([^\\/]+)/end", "https://example.com/a/b/end", false],
    ["urlpattern", "https://example.com/([^\\/]+)/end", "https://example.com/ab/end", true],
    ["urlpattern", "https://example.com/(\\w+)\\.json", "https://example.com/a_1.json", true],
    ["urlpattern", "https://example.com/(\\D\\S\\W)", "https://example.com/a!%20", false],
    ["urlpattern", "https://example.com/:n(\\d{2,3})", "https://example.com/1234", false],
    ["urlpattern", "https://example.com/:n(\\d{2,})", "https://example.com/1234", true],
    ["urlpattern", "https://example.com/x?page=:n(\\d+)", "https://example.com/x?page=12", true],
    ["urlpattern", "https://example.com/x?page=:n(\\d+)", "https://example.com/x?page=1a", false],
    ["urlpattern", "https://example.com/x#:frag(sec-\\d+)?", "https://example.com/x", true],
    // relative patterns and topics resolve against the hub's URL
    [
      "urlpattern",
      "/.well-known/mercure/subscriptions/exact/:topic/:subscriber",
      "/.well-known/mercure/subscriptions/exact/foo/bar",
      true,
    ],
    [
      "urlpattern",
      "/.well-known/mercure/subscriptions/exact/:topic/:subscriber",
      "https://hub.example.com/.well-known/mercure/subscriptions/exact/foo/bar",
      true,
    ],
    [
      "urlpattern",
      "/.well-known/mercure/subscriptions/exact/:topic/:subscriber",
      "https://other.example.com/.well-known/mercure/subscriptions/exact/foo/bar",
      false,
    ],
    ["urlpattern", "https://hub.example.com/books/:id", "/books/3", true],
    ["urlpattern", "/books/:id", "https://hub.example.com/books/3", true],
    // URI templates (pre-standard): the selector itself, {var}, {+var}
    ["uritemplate", "https://example.com/books/{id}", "https://example.com/books/{id}", true],
    ["uritemplate", "https://example.com/books/{id}", "https://example.com/books/1", true],
    ["uritemplate", "https://example.com/books/{id}", "https://example.com/books/a-b_c.d~%20", true],
    ["uritemplate", "https://example.com/books/{id}", "https://example.com/books/1/2", false],
    ["uritemplate", "https://example.com/books/{id}", "https://example.com/books/1?x", false],
    ["uritemplate", "https://example.com/books/{id}", "https://example.com/magazines/1", false],
    ["uritemplate", "https://example.com/{+path}", "https://example.com/a/b?c=d", true],
    ["uritemplate", "https://example.com/{a}{+b}/x", "https://example.com/1/2/x", true],
    ["uritemplate", "https://example.com/{a}/{b}", "https://example.com/1/2", true],
    ["uritemplate", "https://example.com/{a}/{b}", "https://example.com/1", false],
    ["uritemplate", "https://example.com/books/1", "https://example.com/books/1", true],
    ["uritemplate", "https://example.com/books/1", "https://example.com/books/10", false],
    // not a template (unbalanced braces): only itself, as in the reference hub
    ["uritemplate", "https://example.com/{id", "https://example.com/{id", true],
    ["uritemplate", "https://example.com/{id", "https://example.com/1", false],
    ["uritemplate", "https://example.com/id}/{x}", "https://example.com/id}/1", false],
    ["uritemplate", "https://example.com/{{x}}", "https://example.com/{{x}}", true],
  ];
  it.each(rows)("%s %s on %s -> %s", (type, pattern, topic, expected) => {
    expect(compileMatcher(type, pattern, HUB).matches(topic)).toBe(expected);
  });

  it("agrees with the runtime's URLPattern on every accepted row", () => {
    for (const [type, pattern, topic] of rows) {
      if (type !== "urlpattern" || pattern === "*") continue;
      let expected = false;
      try {
        expected = new URLPattern(pattern, HUB.href).test(topic, HUB.href);
      } catch {
        expected = false;
      }
      expect([pattern, topic, compileMatcher(type, pattern, HUB).matches(topic)]).toEqual([pattern, topic, expected]);
    }
  });

  const unsupported: Array<[MatcherType, string, RegExp]> = [
    // Not regular, or not run without backtracking: refused by name (docs/MERCURE.md lists them).
    ["urlpattern", "https://example.com/:a/(\\1)", /back reference/],
    ["urlpattern", "https://example.com/((?=a)a)", /lookaround/],
    ["urlpattern", "https://example.com/((?<!b)a)", /lookaround/],
    ["urlpattern", "https://example.com/(^a)", /assertion \^/],
    ["urlpattern", "https://example.com/(a$)", /assertion \$/],
    ["urlpattern", "https://example.com/(a\\b)", /assertion \\b/],
    ["urlpattern", "https://example.com/(\\p{L}+)", /property escape/],
    ["urlpattern", "https://example.com/([[a]])", /not a valid URL pattern|nested class/],
    ["urlpattern", "https://example.com/(a{5000})", /more than 256 positions/],
    ["urlpattern", "https://example.com/((?:a{100}){100})", /more than 256 positions/],
    ["urlpattern", "https://example.com/:", /not a valid URL pattern|without a name/],
    ["urlpattern", "https://example.com/(a", /not a valid URL pattern/],
    ["uritemplate", "https://example.com/{#frag}", /another operator/],
    ["uritemplate", "https://example.com/{/seg}", /another operator/],
    ["uritemplate", "https://example.com/{?q}", /another operator/],
    ["uritemplate", "https://example.com/{a,b}", /several variables/],
    ["uritemplate", "https://example.com/{list*}", /modifier/],
    ["uritemplate", "https://example.com/{name:3}", /modifier/],
    ["uritemplate", "https://example.com/{}", /another operator/],
  ];
  it.each(unsupported)("refuses %s %s with 400 naming what is not supported", (type, pattern, message) => {
    const error = refusal(() => compileMatcher(type, pattern, HUB));
    expect(error.status).toBe(400);
    expect(error.message).toMatch(message);
  });

  it("costs nothing for comparisons and one word for a typical pattern (literal prefix and suffix compared as strings)", () => {
    expect(compileMatcher("exact", "https://example.com/books/1", HUB).cost).toBe(0);
    expect(compileMatcher("urlpattern", "*", HUB).cost).toBe(0);
    expect(compileMatcher("urlpattern", "https://example.com/books/1", HUB).cost).toBe(0);
    expect(compileMatcher("urlpattern", "https://example.com/books/:id", HUB).cost).toBe(1);
    expect(
      compileMatcher("urlpattern", `https://example.com/${"x".repeat(100)}/:id/${"y".repeat(100)}`, HUB).cost,
    ).toBe(1);
    expect(compileMatcher("uritemplate", "https://example.com/books/{id}", HUB).cost).toBe(1);
    expect(compileMatcher("urlpattern", `https://example.com/:a${"/x".repeat(40)}/:b`, HUB).cost).toBe(3);
    // Groups and regular expressions run on the position automaton: (positions + sets + 1) x words / 6.
    expect(compileMatcher("urlpattern", "https://example.com/books{/:id}?", HUB).cost).toBe(1);
    expect(compileMatcher("urlpattern", "https://example.com/books/:id(\\d+)", HUB).cost).toBe(1);
    expect(compileMatcher("urlpattern", "https://example.com/(a{40})", HUB).cost).toBe(14);
    expect(compileMatcher("urlpattern", "https://example.com/(a{200})", HUB).cost).toBeGreaterThan(
      MERCURE_LIMITS.maxMatcherCost,
    );
  });

  it("refuses a pattern past the length cap and one with a control character", () => {
    const long = `https://example.com/${"a".repeat(MERCURE_LIMITS.maxPatternLength)}`;
    expect(refusal(() => compileMatcher("urlpattern", long, HUB)).status).toBe(400);
    expect(refusal(() => compileMatcher("exact", "a\u009fb", HUB)).message).toMatch(/control/);
  });
});

describe("linear time (§URL Pattern: no catastrophic backtracking)", () => {
  const ANY = () => true;
  const NOT_SLASH = (unit: number) => unit !== 0x2f;
  const literal = (text: string): Atom[] => [...text].map((c) => ({ kind: "literal", codeUnit: c.charCodeAt(0) }));

  /** Steps of matching `input`; the bound is (input + 1) x words x (work per code unit). */
  function stepsFor(atoms: Atom[], input: string): { matched: boolean; steps: number; bound: number } {
    const automaton = new LinearPattern(atoms);
    const matched = automaton.matches(input);
    const words = Math.ceil((atoms.length + 1) / 32);
    return { matched, steps: automaton.steps, bound: (input.length + 1) * words * 6 };
  }

  it("glob-style `*a*a*a…*b` against `aaaa…` (exponential for a backtracking engine) stays within the bound", () => {
    const atoms: Atom[] = [];
    for (let i = 0; i < 40; i++) atoms.push({ kind: "run", accepts: ANY }, ...literal("a"));
    atoms.push(...literal("b"));
    for (const length of [250, 500, 1000]) {
      const { matched, steps, bound } = stepsFor(atoms, "a".repeat(length));
      expect(matched).toBe(false);
      expect(steps).toBeLessThanOrEqual(bound);
    }
    // doubling the input doubles the steps: linear, not worse
    const half = stepsFor(atoms, "a".repeat(500)).steps;
    const full = stepsFor(atoms, "a".repeat(1000)).steps;
    expect(full).toBeLessThanOrEqual(2 * half + 64);
  });

  it("`/:a:b:c…x` (nested segment groups) against a long segment stays within the bound", () => {
    const atoms: Atom[] = [...literal("/")];
    for (let i = 0; i < 30; i++) atoms.push({ kind: "one", accepts: NOT_SLASH }, { kind: "run", accepts: NOT_SLASH });
    atoms.push(...literal("x"));
    const { matched, steps, bound } = stepsFor(atoms, `/${"a".repeat(1000)}`);
    expect(matched).toBe(false);
    expect(steps).toBeLessThanOrEqual(bound);
    expect(stepsFor(atoms, `/${"a".repeat(40)}x`).matched).toBe(true);
  });

  it("the same pathological shapes are accepted as URL patterns and answer correctly", () => {
    const glob = `https://example.com/${"*a".repeat(40)}b`;
    expect(compileMatcher("urlpattern", glob, HUB).matches(`https://example.com/${"a".repeat(1000)}`)).toBe(false);
    expect(compileMatcher("urlpattern", glob, HUB).matches(`https://example.com/${"a".repeat(100)}b`)).toBe(true);
    const groups = `https://example.com/${Array.from({ length: 20 }, (_, i) => `:g${i}`).join("")}.x`;
    expect(compileMatcher("urlpattern", groups, HUB).matches(`https://example.com/${"a".repeat(1000)}`)).toBe(false);
    expect(compileMatcher("urlpattern", groups, HUB).matches(`https://example.com/${"a".repeat(25)}.x`)).toBe(true);
  });

  it("adjacent runs are refused by the automaton (compilers merge them), keeping the closure to two passes", () => {
    expect(
      () =>
        new LinearPattern([
          { kind: "run", accepts: ANY },
          { kind: "run", accepts: ANY },
        ]),
    ).toThrow(/adjacent/);
  });

  it("matches exactly what the equivalent regular expression matches (randomized, seeded)", () => {
    const CLASSES = { any: ANY, seg: NOT_SLASH } as const;
    const ALPHABET = { any: "ab/", seg: "ab" } as const;
    type Spec = { atom: Atom; regex: string; sample: string };
    const atomArbitrary = fc.oneof(
      fc.constantFrom("a", "b", "/").map(
        (c): Spec => ({
          atom: { kind: "literal", codeUnit: c.charCodeAt(0) },
          regex: c === "/" ? "\\/" : c,
          sample: c,
        }),
      ),
      fc.record({ k: fc.constantFrom("any", "seg"), pick: fc.nat() }).map(
        ({ k, pick }): Spec => ({
          atom: { kind: "one", accepts: CLASSES[k as "any"] },
          regex: k === "any" ? "[^]" : "[^/]",
          sample: ALPHABET[k as "any"][pick % ALPHABET[k as "any"].length]!,
        }),
      ),
      fc
        .record({
          k: fc.constantFrom("any", "seg"),
          run: fc.string({ unit: fc.constantFrom("a", "b", "/"), maxLength: 3 }),
        })
        .map(
          ({ k, run }): Spec => ({
            atom: { kind: "run", accepts: CLASSES[k as "any"] },
            regex: k === "any" ? "[^]*" : "[^/]*",
            sample: k === "any" ? run : run.replaceAll("/", ""),
          }),
        ),
    );
    fc.assert(
      fc.property(
        fc.array(atomArbitrary, { minLength: 20, maxLength: 80 }),
        fc.option(fc.record({ at: fc.nat(), to: fc.constantFrom("a", "b", "/", "") }), { nil: undefined }),
        (specs, mutation) => {
          // An input built from the pattern (so it usually matches, across 32-atom word boundaries), maybe mutated.
          const atoms: Atom[] = [];
          let source = "";
          let input = "";
          for (const { atom, regex, sample } of specs) {
            if (atom.kind === "run" && atoms.at(-1)?.kind === "run") continue;
            atoms.push(atom);
            source += regex;
            input += sample;
          }
          if (mutation && input.length > 0) {
            const at = mutation.at % input.length;
            input = input.slice(0, at) + mutation.to + input.slice(at + 1);
          }
          expect(new LinearPattern(atoms).matches(input)).toBe(new RegExp(`^${source}$`).test(input));
        },
      ),
      { seed: SEED, numRuns: 300 },
    );
  });
});

describe("URL patterns with groups and regular expressions agree with the runtime's URLPattern (randomized, seeded)", () => {
  // Regular expressions in the syntax both the u and v flags accept (the runtime compiles with one of them).
  const regexAtom = fc.constantFrom(
    "a",
    "b",
    "1",
    "\\d",
    "\\w",
    "[ab]",
    "[^\\/]",
    ".",
    "-",
    "\\.",
    "(?:a|b)",
    "(?:ab)",
  );
  const quantifier = fc.constantFrom("", "", "?", "*", "+", "{2}", "{1,2}", "{0,}", "*?", "+?");
  const alternative = fc
    .array(fc.tuple(regexAtom, quantifier), { minLength: 1, maxLength: 3 })
    .map((terms) => terms.map(([atom, q]) => atom + q).join(""));
  const regex = fc.array(alternative, { minLength: 1, maxLength: 2 }).map((alternatives) => alternatives.join("|"));
  const modifier = fc.constantFrom("", "", "?", "+", "*");
  const text = fc.constantFrom("a", "b", "ab", "-", ".", "1");
  /** A piece of a pathname pattern; `n` names its group. */
  const piece = (n: number) =>
    fc.oneof(
      text,
      fc.constant("/"),
      fc
        .tuple(fc.option(regex, { nil: undefined }), modifier)
        .map(([r, m]) => `:g${n}${r === undefined ? "" : `(${r})`}${m}`),
      modifier.map((m) => `*${m}`),
      fc.tuple(regex, modifier).map(([r, m]) => `(${r})${m}`),
      fc
        .tuple(
          fc.constantFrom("", "/", "-", "a", "."),
          fc.constantFrom("", `:g${n}`, "*", "(a|b1)", `:g${n}(\\d+)`),
          fc.constantFrom("", "-", "b", "/"),
          modifier,
        )
        .map(([prefix, inner, suffix, m]) => `{${prefix}${inner}${suffix}}${m}`),
    );
  const pathname = fc
    .array(fc.nat(), { minLength: 1, maxLength: 5 })
    .chain((ns) => fc.tuple(...ns.map((_, n) => piece(n))))
    .map((pieces) => `/${pieces.join("")}`);
  // Short topics: the reference, the runtime's URLPattern, backtracks, and these random patterns include
  // catastrophic ones (seed 535606674 gave `(\w*\d*.|[^\/]+?[ab]*)*…`, on which a 30-character topic ran for
  // minutes: exactly what the hub's automata avoid). Ten characters keep every reference answer to milliseconds.
  const topicPath = fc
    .array(fc.constantFrom("a", "b", "1", "/", "-", ".", "ab", "11"), { maxLength: 5 })
    .map((units) => `/${units.join("")}`);

  it("pathname patterns: the same answer on every topic, or both refuse the pattern", () => {
    let compared = 0;
    let matched = 0;
    fc.assert(
      fc.property(pathname, fc.array(topicPath, { minLength: 6, maxLength: 6 }), (path, paths) => {
        const pattern = `https://example.com${path}`;
        let runtime: URLPattern;
        try {
          runtime = new URLPattern(pattern, HUB.href);
        } catch {
          // Not a URL pattern (e.g. the v flag refuses the syntax): the hub's 400 is checked below.
          expect(refusal(() => compileMatcher("urlpattern", pattern, HUB)).message).toMatch(/not a valid URL pattern/);
          return;
        }
        const matcher = compileMatcher("urlpattern", pattern, HUB);
        // The pattern's own literal text as a topic, so that matches are common, not just misses.
        for (const p of [...paths, path.replace(/[:(){}?+*\\|[\]^]/g, "").slice(0, 10)]) {
          const topic = `https://example.com${p}`;
          const expected = runtime.test(topic, HUB.href);
          expect([pattern, topic, matcher.matches(topic)]).toEqual([pattern, topic, expected]);
          compared++;
          if (expected) matched++;
        }
      }),
      { seed: SEED, numRuns: 400 },
    );
    expect(compared).toBeGreaterThan(1000);
    // Enough of them match for the agreement to say something about matches, not only misses.
    expect(matched).toBeGreaterThan(compared / 20);
  });

  it("host and protocol groups too", () => {
    const rows: Array<[string, string[]]> = [
      ["http{s}?://{:sub.}?example.com/x", ["http://example.com/x", "https://a.example.com/x", "ftp://example.com/x"]],
      [
        "https://{:a.}*example.com/x",
        ["https://example.com/x", "https://a.b.c.example.com/x", "https://.example.com/x"],
      ],
      ["https://:tenant(acme|initech).example.com/*", ["https://acme.example.com/q", "https://other.example.com/q"]],
      [
        "(http|https)://example.com:8080/x{/:p}*",
        [
          "http://example.com:8080/x",
          "https://example.com:8080/x/a/b",
          "https://example.com/x/a",
          "ws://example.com:8080/x",
        ],
      ],
    ];
    for (const [pattern, topics] of rows) {
      const runtime = new URLPattern(pattern, HUB.href);
      const matcher = compileMatcher("urlpattern", pattern, HUB);
      for (const topic of topics) {
        expect([pattern, topic, matcher.matches(topic)]).toEqual([pattern, topic, runtime.test(topic, HUB.href)]);
      }
    }
  });
});

describe("RegularPattern: regular expressions without backtracking", () => {
  it("matches exactly what the runtime's RegExp (v flag, anchored) matches (randomized, seeded)", () => {
    const leaf = fc.constantFrom("a", "b", "\\d", "[ab]", "[^a]", ".", "\\W", "[a-c1]", "\\u0061", "\\x62");
    const tree: fc.Arbitrary<string> = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        leaf,
        fc.tuple(tie("node"), tie("node")).map(([a, b]) => `${a}${b}`),
        fc.tuple(tie("node"), tie("node")).map(([a, b]) => `(?:${a}|${b})`),
        fc
          .tuple(tie("node"), fc.constantFrom("*", "+", "?", "{2}", "{0,2}", "{1,}", "??"))
          .map(([a, q]) => `(?:${a})${q}`),
      ),
    })).node;
    const input = fc.string({ unit: fc.constantFrom("a", "b", "c", "1", "-", "😀"), maxLength: 10 });
    fc.assert(
      fc.property(tree, fc.array(input, { minLength: 5, maxLength: 5 }), (source, inputs) => {
        const automaton = new RegularPattern(parseRegExp(source));
        const reference = new RegExp(`^(?:${source})$`, "v");
        for (const text of inputs) {
          expect([source, text, automaton.matches(text)]).toEqual([source, text, reference.test(text)]);
        }
      }),
      { seed: SEED, numRuns: 400 },
    );
  });

  it.each([
    ["(?:a|a)*b", "a"],
    ["(?:a*)*b", "a"],
    ["(?:a|aa)+c", "a"],
    ["(?:.*a){12}x", "a"],
    ["(?:\\d+\\d+)+x", "1"],
  ])("%s against a long run of %s (catastrophic for a backtracking engine) stays within the bound", (source, unit) => {
    const automaton = new RegularPattern(parseRegExp(source));
    const perCodePoint = (automaton.states + automaton.classes + 2) * automaton.words;
    for (const length of [1_000, 2_000]) {
      expect(automaton.matches(unit.repeat(length))).toBe(false);
      expect(automaton.steps).toBeLessThanOrEqual((length + 1) * perCodePoint);
    }
  });
});
