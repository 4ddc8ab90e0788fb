/**
 * Mercure authorization (src/mercure/auth.ts) against draft-dunglas-mercure-08
 * §Authorization (token presentation, validation, authorization details,
 * error responses, CSRF) and the pre-standard `mercure` claim. Keys are made
 * in the test with WebCrypto; tokens are signed here, byte by byte, so every
 * header and claim can be wrong on purpose.
 *
 * In workerd, not plain Node: which keys and algorithms import, and how, is
 * the runtime's WebCrypto, and it must be the one production runs.
 */
import { createOriginMatcher } from "../../src/http/cors";
import { beforeAll, describe, expect, it } from "vitest";
import {
  checkCookieOrigin,
  extractToken,
  importMercureKeys,
  insufficientScope,
  type MercureAuthSettings,
  type MercureKeyConfig,
  mayPublish,
  mayReceive,
  missingToken,
  resourceMetadata,
  resourceMetadataUrl,
  subscriptionPayload,
  verifyMercureToken,
} from "../../src/mercure/auth";
import { MercureRefused } from "../../src/mercure/errors";
import type { MercureAlgorithm, MercureMode } from "../../src/config";

const HUB = new URL("https://hub.example.com/.well-known/mercure");
const RESOURCE = "https://hub.example.com/.well-known/mercure";
const METADATA = "https://hub.example.com/.well-known/oauth-protected-resource/.well-known/mercure";
const PUBLISH_SECRET = "publisher-secret-0123456789abcdef-0123456789";
const SUBSCRIBE_SECRET = "subscriber-secret-0123456789abcdef-012345678";

const utf8 = new TextEncoder();
const base64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
const part = (value: unknown) => base64url(utf8.encode(JSON.stringify(value)));
const now = () => Math.floor(Date.now() / 1000);

type Signer = (input: Uint8Array) => Promise<ArrayBuffer>;

async function token(header: Record<string, unknown>, payload: Record<string, unknown>, signer: Signer) {
  const input = `${part(header)}.${part(payload)}`;
  return `${input}.${base64url(new Uint8Array(await signer(utf8.encode(input))))}`;
}

async function hmacSigner(secret: string, hash = "SHA-256"): Promise<Signer> {
  const key = await crypto.subtle.importKey("raw", utf8.encode(secret), { name: "HMAC", hash }, false, ["sign"]);
  return (input) => crypto.subtle.sign("HMAC", key, input);
}

function pem(spki: ArrayBuffer): string {
  const base64 = btoa(String.fromCharCode(...new Uint8Array(spki)));
  return `-----BEGIN PUBLIC KEY-----\n${base64.match(/.{1,64}/g)!.join("\n")}\n-----END PUBLIC KEY-----\n`;
}

let es256: { signer: Signer; pem: string; other: Signer; otherPem: string };
let rs256: { signer: Signer; jwk: JsonWebKey };
let ed25519: { signer: Signer; jwk: JsonWebKey };

beforeAll(async () => {
  const ec = async () => {
    const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
      "sign",
      "verify",
    ])) as CryptoKeyPair;
    const signer: Signer = (input) => crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, pair.privateKey, input);
    return { signer, pem: pem((await crypto.subtle.exportKey("spki", pair.publicKey)) as ArrayBuffer) };
  };
  const [first, second] = [await ec(), await ec()];
  es256 = { signer: first.signer, pem: first.pem, other: second.signer, otherPem: second.pem };
  const rsa = (await crypto.subtle.generateKey(
    { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
    true,
    ["sign", "verify"],
  )) as CryptoKeyPair;
  rs256 = {
    signer: (input) => crypto.subtle.sign("RSASSA-PKCS1-v1_5", rsa.privateKey, input),
    jwk: (await crypto.subtle.exportKey("jwk", rsa.publicKey)) as JsonWebKey,
  };
  const ed = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as CryptoKeyPair;
  ed25519 = {
    signer: (input) => crypto.subtle.sign("Ed25519", ed.privateKey, input),
    jwk: (await crypto.subtle.exportKey("jwk", ed.publicKey)) as JsonWebKey,
  };
});

/** The issuer the draft-mode test keys belong to unless they name another. */
const ISSUER = "https://app.example.com";
const withIssuer = (configs: MercureKeyConfig[]) =>
  configs.map((config) => ({ ...config, issuer: config.issuer ?? ISSUER }));

async function settings(
  mode: MercureMode,
  publisher: MercureKeyConfig[],
  subscriber: MercureKeyConfig[] = [{ alg: "HS256", key: SUBSCRIBE_SECRET }],
  extra: Partial<MercureAuthSettings> = {},
): Promise<MercureAuthSettings> {
  return {
    mode,
    hubUrl: HUB,
    resourceIdentifier: RESOURCE,
    issuers: [],
    // Pre-standard keys need no issuer (and the tests' legacy tokens carry none).
    publisherKeys: await importMercureKeys(mode === "draft" ? withIssuer(publisher) : publisher),
    subscriberKeys: await importMercureKeys(mode === "draft" ? withIssuer(subscriber) : subscriber),
    ...extra,
  };
}

const AT_JWT = { alg: "HS256", typ: "at+jwt" };
const DETAIL_TYPE = "https://mercure.rocks/authorization-detail";
const details = (actions: unknown[], topics: unknown[], more: Record<string, unknown> = {}) => ({
  type: DETAIL_TYPE,
  actions,
  topics,
  ...more,
});
const claims = (more: Record<string, unknown> = {}) => ({
  iss: ISSUER,
  aud: RESOURCE,
  exp: now() + 600,
  sub: "user-1",
  authorization_details: [
    details(["publish"], [{ match: "https://example.com/books/:id", match_type: "urlpattern" }, { match: "news" }]),
  ],
  ...more,
});

async function refused(promise: Promise<unknown>): Promise<MercureRefused> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof MercureRefused) return error;
    throw error;
  }
  throw new Error("expected a MercureRefused");
}

describe("extractToken (§Presenting the Access Token)", () => {
  const request = (url: string, headers: Record<string, string> = {}) =>
    new Request(`https://hub.example.com/.well-known/mercure${url}`, { headers });

  it("prefers the Authorization header (the cookie is then ignored), else the cookie; legacy reads its query parameter between", () => {
    const both = request("", { Authorization: "Bearer h.h.h", Cookie: "__Secure-mercure_access_token=c" });
    expect(extractToken(both, "draft")).toEqual({ token: "h.h.h", source: "header" });
    expect(extractToken(request("", { Cookie: "a=1; __Secure-mercure_access_token=c" }), "draft")).toEqual({
      token: "c",
      source: "cookie",
    });
    expect(extractToken(request("?authorization=q", { Cookie: "mercureAuthorization=c" }), "legacy")).toEqual({
      token: "q",
      source: "query",
    });
    expect(extractToken(request("", { Authorization: "bearer  h" }), "legacy")).toEqual({
      token: "h",
      source: "header",
    });
  });

  it("reads each mode's own cookie and query parameter only", () => {
    expect(extractToken(request("", { Cookie: "mercureAuthorization=c" }), "draft")).toBeNull();
    expect(extractToken(request("", { Cookie: "__Secure-mercure_access_token=c" }), "legacy")).toBeNull();
    expect(extractToken(request("?authorization=q"), "draft")).toBeNull();
    expect(extractToken(request("?access_token=q"), "legacy")).toBeNull();
    expect(extractToken(request("", { Cookie: "hubA=c" }), "draft", { cookieName: "hubA" })).toEqual({
      token: "c",
      source: "cookie",
    });
    expect(extractToken(request(""), "draft")).toBeNull();
  });

  it("never takes access_token from the URL: the header still wins over it; without a header it is a 400", () => {
    const withHeader = request("?access_token=q", { Authorization: "Bearer h.h.h" });
    expect(extractToken(withHeader, "draft")).toEqual({ token: "h.h.h", source: "header" });
    const withCookie = request("?access_token=q", { Cookie: "__Secure-mercure_access_token=c" });
    expect(() => extractToken(withCookie, "draft")).toThrow(/no access token in the URL/);
    expect(() => extractToken(request("?access_token="), "draft")).toThrow(/no access token in the URL/);
  });

  it("refuses a token in the URL of a draft hub that does not take one there (400 invalid_request, the message without it)", () => {
    let error: unknown;
    try {
      extractToken(request("?match=a&access_token=secret-token"), "draft");
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(MercureRefused);
    expect((error as MercureRefused).status).toBe(400);
    expect((error as MercureRefused).headers["WWW-Authenticate"]).toBe('Bearer error="invalid_request"');
    expect((error as MercureRefused).message).not.toContain("secret-token");
  });

  it.each(["Basic dXNlcjpwYXNz", "Bearer", "Bearer a b", "Bearer\ta", "Token abc"])(
    "refuses the malformed Authorization header %j with 400 invalid_request",
    (value) => {
      expect(() => extractToken(request("", { Authorization: value }), "draft")).toThrow(MercureRefused);
    },
  );
});

describe("verifyMercureToken, draft mode (§Token Validation, §Authorization Details)", () => {
  it("accepts an HS256 access token and grants its publish matchers", async () => {
    const auth = await settings("draft", [{ alg: "HS256", key: PUBLISH_SECRET }]);
    const grant = await verifyMercureToken(
      await token(AT_JWT, claims(), await hmacSigner(PUBLISH_SECRET)),
      "publish",
      auth,
    );
    expect(grant.subject).toBe("user-1");
    expect(grant.expiresAt).toBeGreaterThan(Date.now());
    expect(mayPublish(grant, ["https://example.com/books/1"])).toBe(true);
    expect(mayPublish(grant, ["news"])).toBe(true);
    expect(mayPublish(grant, ["https://example.com/authors/1"])).toBe(false);
    expect(mayPublish(grant, [])).toBe(false);
  });

  it("accepts ES256 (PEM), RS256 (JWK) and EdDSA (JWK) tokens with the recommended algorithms", async () => {
    const auth = await settings("draft", [
      { alg: "ES256", key: es256.pem },
      { alg: "RS256", key: rs256.jwk },
      { alg: "EdDSA", key: JSON.stringify(ed25519.jwk) },
    ]);
    const signers: Array<[MercureAlgorithm, Signer]> = [
      ["ES256", es256.signer],
      ["RS256", rs256.signer],
      ["EdDSA", ed25519.signer],
    ];
    for (const [alg, signer] of signers) {
      const grant = await verifyMercureToken(await token({ alg, typ: "at+jwt" }, claims(), signer), "publish", auth);
      expect([alg, mayPublish(grant, ["news"])]).toEqual([alg, true]);
    }
  });

  it("accepts aud as an array holding the resource identifier, and application/at+jwt", async () => {
    const auth = await settings("draft", [{ alg: "HS256", key: PUBLISH_SECRET }]);
    const signer = await hmacSigner(PUBLISH_SECRET);
    await verifyMercureToken(await token(AT_JWT, claims({ aud: ["other", RESOURCE] }), signer), "publish", auth);
    await verifyMercureToken(
      await token({ alg: "HS256", typ: "application/at+jwt" }, claims(), signer),
      "publish",
      auth,
    );
  });

  it.each([
    ["at+jwt", true],
    ["application/at+jwt", true],
    ["AT+JWT", true],
    ["Application/At+Jwt", true],
    ["JWT", false],
    ["application/jwt", false],
    ["at+jwt ", false],
    ["application/application/at+jwt", false],
  ])(
    "typ %j: accepted %s (§Token Validation: application/ omitted, compared case-insensitively)",
    async (typ, accepted) => {
      const auth = await settings("draft", [{ alg: "HS256", key: PUBLISH_SECRET }]);
      const candidate = await token({ alg: "HS256", typ }, claims(), await hmacSigner(PUBLISH_SECRET));
      if (accepted) await verifyMercureToken(candidate, "publish", auth);
      else expect((await refused(verifyMercureToken(candidate, "publish", auth))).status).toBe(401);
    },
  );

  const future = () => now() + 600;
  const invalid: Array<[string, Record<string, unknown>, () => Record<string, unknown>]> = [
    ["typ JWT (an ID token, not an access token)", { alg: "HS256", typ: "JWT" }, () => claims()],
    ["no typ", { alg: "HS256" }, () => claims()],
    ["no exp", AT_JWT, () => claims({ exp: undefined })],
    ["an expired token", AT_JWT, () => claims({ exp: now() - 10 })],
    ["nbf in the future", AT_JWT, () => claims({ nbf: future() })],
    ["no aud", AT_JWT, () => claims({ aud: undefined })],
    ["no iss (§Token Validation: present, always)", AT_JWT, () => claims({ iss: undefined })],
    ["another issuer's iss", AT_JWT, () => claims({ iss: "https://elsewhere.example" })],
    ["an iss that differs by a trailing slash", AT_JWT, () => claims({ iss: `${ISSUER}/` })],
    ["an iss that is not a string", AT_JWT, () => claims({ iss: [ISSUER] })],
    ["another hub's aud", AT_JWT, () => claims({ aud: "https://other.example.com/.well-known/mercure" })],
    ["alg none", { alg: "none", typ: "at+jwt" }, () => claims()],
    ["an algorithm the hub has no key for (HS512)", { alg: "HS512", typ: "at+jwt" }, () => claims()],
    ["a crit header", { ...AT_JWT, crit: ["exp"] }, () => claims()],
    ["authorization_details not an array", AT_JWT, () => claims({ authorization_details: { type: DETAIL_TYPE } })],
    ["a detail that is not an object", AT_JWT, () => claims({ authorization_details: [DETAIL_TYPE] })],
    ["empty actions", AT_JWT, () => claims({ authorization_details: [details([], [{ match: "a" }])] })],
    [
      "actions not an array",
      AT_JWT,
      () => claims({ authorization_details: [details("publish" as never, [{ match: "a" }])] }),
    ],
    [
      "a non-string action (§Authorization Details: still a validation failure)",
      AT_JWT,
      () => claims({ authorization_details: [details(["publish", 1], [{ match: "a" }])] }),
    ],
    ["a null action", AT_JWT, () => claims({ authorization_details: [details([null], [{ match: "a" }])] })],
    ["empty topics", AT_JWT, () => claims({ authorization_details: [details(["publish"], [])] })],
    [
      "a topic matcher that is a string",
      AT_JWT,
      () => claims({ authorization_details: [details(["publish"], ["a"])] }),
    ],
    [
      "an unknown match_type",
      AT_JWT,
      () => claims({ authorization_details: [details(["publish"], [{ match: "a", match_type: "regex" }])] }),
    ],
    [
      "an unknown match_type on the * wildcard (the type must still be one the hub supports)",
      AT_JWT,
      () => claims({ authorization_details: [details(["publish"], [{ match: "*", match_type: "regex" }])] }),
    ],
    [
      "match_type in another case (Exact: names are case-sensitive)",
      AT_JWT,
      () => claims({ authorization_details: [details(["publish"], [{ match: "a", match_type: "Exact" }])] }),
    ],
    [
      "match_type in another case (URLPattern)",
      AT_JWT,
      () => claims({ authorization_details: [details(["publish"], [{ match: "a", match_type: "URLPattern" }])] }),
    ],
    [
      "the pre-standard uritemplate type",
      AT_JWT,
      () => claims({ authorization_details: [details(["publish"], [{ match: "a", match_type: "uritemplate" }])] }),
    ],
    [
      "a match_type that is not a string",
      AT_JWT,
      () => claims({ authorization_details: [details(["publish"], [{ match: "a", match_type: null }])] }),
    ],
    [
      "a format character (Cf) in a matcher value",
      AT_JWT,
      () => claims({ authorization_details: [details(["publish"], [{ match: "a\u200bb" }])] }),
    ],
    [
      "a topic matcher without match",
      AT_JWT,
      () => claims({ authorization_details: [details(["publish"], [{ match_type: "exact" }])] }),
    ],
    [
      "a URL pattern this hub cannot run without backtracking (a back reference)",
      AT_JWT,
      () =>
        claims({ authorization_details: [details(["publish"], [{ match: "/:a/(\\1)", match_type: "urlpattern" }])] }),
    ],
    [
      "a match_type urlpattern value that is not a URL pattern",
      AT_JWT,
      () => claims({ authorization_details: [details(["publish"], [{ match: "/(a", match_type: "urlpattern" }])] }),
    ],
    [
      "a payload that is not an object",
      AT_JWT,
      () => claims({ authorization_details: [details(["subscribe"], [{ match: "a" }], { payload: "x" })] }),
    ],
    [
      "one bad detail among good ones (no partial acceptance)",
      AT_JWT,
      () =>
        claims({
          authorization_details: [details(["publish"], [{ match: "*" }]), details(["publish"], [{ match: 1 }])],
        }),
    ],
    [
      "an unsupported match_type in a detail that grants another action (no partial acceptance)",
      AT_JWT,
      () =>
        claims({
          authorization_details: [
            details(["publish"], [{ match: "*" }]),
            details(["subscribe"], [{ match: "a", match_type: "regex" }]),
          ],
        }),
    ],
    [
      "more Mercure details than the cap",
      AT_JWT,
      () => claims({ authorization_details: Array.from({ length: 17 }, () => details(["publish"], [{ match: "a" }])) }),
    ],
    [
      "matchers too complex together",
      AT_JWT,
      () =>
        claims({
          authorization_details: [
            details(
              ["publish"],
              Array.from({ length: 30 }, (_, n) => ({ match: `/*${n}${"*x".repeat(40)}`, match_type: "urlpattern" })),
            ),
          ],
        }),
    ],
    [
      "more matchers than the cap",
      AT_JWT,
      () =>
        claims({
          authorization_details: [
            details(
              ["publish"],
              Array.from({ length: 65 }, (_, i) => ({ match: `t${i}` })),
            ),
          ],
        }),
    ],
  ];
  it.each(invalid)("refuses %s with 401 invalid_token and the challenge", async (_name, header, payload) => {
    const auth = await settings("draft", [{ alg: "HS256", key: PUBLISH_SECRET }]);
    const error = await refused(
      verifyMercureToken(await token(header, payload(), await hmacSigner(PUBLISH_SECRET)), "publish", auth),
    );
    expect(error.status).toBe(401);
    expect(error.code).toBe("invalid_token");
    expect(error.message).toBe("The access token is not valid.");
    expect(error.headers["WWW-Authenticate"]).toBe(`Bearer error="invalid_token", resource_metadata="${METADATA}"`);
    expect(error.reason).toBeTruthy();
  });

  it("refuses a bad signature, a tampered payload, a malformed token and one past the length cap", async () => {
    const auth = await settings("draft", [{ alg: "HS256", key: PUBLISH_SECRET }]);
    const good = await token(AT_JWT, claims(), await hmacSigner(PUBLISH_SECRET));
    const [header, , signature] = good.split(".");
    const candidates = [
      await token(AT_JWT, claims(), await hmacSigner(`${PUBLISH_SECRET}!`)),
      `${header}.${part(claims({ sub: "admin" }))}.${signature}`,
      "not-a-token",
      "a.b",
      `${"a".repeat(20_000)}.b.c`,
    ];
    for (const candidate of candidates) {
      expect((await refused(verifyMercureToken(candidate, "publish", auth))).status).toBe(401);
    }
  });

  it("keeps roles apart: a subscriber's token does not publish, and keys are chosen by configured algorithm", async () => {
    const auth = await settings("draft", [{ alg: "ES256", key: es256.pem }]);
    const subscriberToken = await token(AT_JWT, claims(), await hmacSigner(SUBSCRIBE_SECRET));
    expect((await refused(verifyMercureToken(subscriberToken, "publish", auth))).status).toBe(401);
    // Algorithm confusion: an HS256 token keyed with the public PEM text is refused, not verified as HMAC.
    const confused = await token(AT_JWT, claims(), await hmacSigner(es256.pem));
    expect((await refused(verifyMercureToken(confused, "publish", auth))).status).toBe(401);
  });

  it("picks the key by kid when keys have one, and binds keys to issuers", async () => {
    const auth = await settings("draft", [
      { alg: "ES256", key: es256.pem, kid: "one", issuer: "https://issuer-one.example" },
      { alg: "ES256", key: es256.otherPem, kid: "two" },
    ]);
    const header = (kid: string) => ({ alg: "ES256", typ: "at+jwt", kid });
    await verifyMercureToken(await token(header("two"), claims(), es256.other), "publish", auth);
    await verifyMercureToken(
      await token(header("one"), claims({ iss: "https://issuer-one.example" }), es256.signer),
      "publish",
      auth,
    );
    const cases = [
      await token(header("one"), claims({ iss: "https://issuer-one.example" }), es256.other),
      await token(header("three"), claims(), es256.other),
      await token(header("one"), claims({ iss: "https://elsewhere.example" }), es256.signer),
      await token(header("one"), claims(), es256.signer),
    ];
    for (const candidate of cases)
      expect((await refused(verifyMercureToken(candidate, "publish", auth))).status).toBe(401);
  });

  it("a key bound to no issuer verifies no draft-08 token, even one without iss", async () => {
    const auth = {
      ...(await settings("draft", [])),
      publisherKeys: await importMercureKeys([{ alg: "HS256", key: PUBLISH_SECRET }]),
    };
    const signer = await hmacSigner(PUBLISH_SECRET);
    for (const iss of [undefined, ISSUER]) {
      const error = await refused(verifyMercureToken(await token(AT_JWT, claims({ iss }), signer), "publish", auth));
      expect([error.status, error.reason]).toEqual([401, "the key has no issuer"]);
    }
  });

  it("checks iss against the advertised authorization servers when there are any", async () => {
    const auth = await settings(
      "draft",
      [{ alg: "HS256", key: PUBLISH_SECRET, issuer: "https://as.example" }],
      undefined,
      {
        issuers: ["https://as.example"],
      },
    );
    const signer = await hmacSigner(PUBLISH_SECRET);
    await verifyMercureToken(await token(AT_JWT, claims({ iss: "https://as.example" }), signer), "publish", auth);
    for (const iss of ["https://other.example", undefined]) {
      expect(
        (await refused(verifyMercureToken(await token(AT_JWT, claims({ iss }), signer), "publish", auth))).status,
      ).toBe(401);
    }
  });

  it.each([
    ["another API's type", "payment"],
    ["the bare type of an earlier revision", "mercure"],
    ["the URI in another case", "HTTPS://MERCURE.ROCKS/authorization-detail"],
    ["the URI with a trailing slash", `${DETAIL_TYPE}/`],
    ["the URI with a space", ` ${DETAIL_TYPE}`],
  ])("skips a detail whose type is not the Mercure URI byte for byte (%s): it grants nothing", async (_name, type) => {
    const auth = await settings("draft", [{ alg: "HS256", key: PUBLISH_SECRET }]);
    const signer = await hmacSigner(PUBLISH_SECRET);
    const other = { type, actions: ["publish"], topics: [{ match: "*" }] };
    const grant = await verifyMercureToken(
      await token(AT_JWT, claims({ authorization_details: [other] }), signer),
      "publish",
      auth,
    );
    expect(grant.matchers).toEqual([]);
    expect(mayPublish(grant, ["news"])).toBe(false);
  });

  it("ignores actions it does not recognize: they grant nothing and leave the token valid (§Authorization Details)", async () => {
    const auth = await settings("draft", [{ alg: "HS256", key: PUBLISH_SECRET }]);
    const signer = await hmacSigner(PUBLISH_SECRET);
    const mixed = await verifyMercureToken(
      await token(AT_JWT, claims({ authorization_details: [details(["admin", "publish"], [{ match: "a" }])] }), signer),
      "publish",
      auth,
    );
    expect(mayPublish(mixed, ["a"])).toBe(true);
    const only = await verifyMercureToken(
      await token(AT_JWT, claims({ authorization_details: [details(["admin", "Publish"], [{ match: "*" }])] }), signer),
      "publish",
      auth,
    );
    expect(only.matchers).toEqual([]);
    expect(mayPublish(only, ["a"])).toBe(false);
  });

  it("a token with no Mercure detail grants nothing (403 by insufficientScope)", async () => {
    const auth = await settings("draft", [{ alg: "HS256", key: PUBLISH_SECRET }]);
    const signer = await hmacSigner(PUBLISH_SECRET);
    const none = await verifyMercureToken(
      await token(AT_JWT, claims({ authorization_details: undefined }), signer),
      "publish",
      auth,
    );
    expect(none.matchers).toEqual([]);
    const error = insufficientScope(auth, "This token may not publish to that topic.");
    expect([error.status, error.code, error.headers["WWW-Authenticate"]]).toEqual([
      403,
      "insufficient_scope",
      `Bearer error="insufficient_scope", resource_metadata="${METADATA}"`,
    ]);
  });

  it("grants subscribe matchers and payloads to subscribers; private updates follow the token, not routing", async () => {
    const auth = await settings("draft", [{ alg: "HS256", key: PUBLISH_SECRET }]);
    const payloadClaims = claims({
      authorization_details: [
        details(["publish"], [{ match: "*" }]),
        details(["subscribe"], [{ match: "https://example.com/books/1" }], { payload: { custom1: "one" } }),
        details(["subscribe"], [{ match: "https://example.com/bar/:id", match_type: "urlpattern" }], {
          payload: { custom2: "bar" },
        }),
        details(["subscribe", "publish"], [{ match: "*" }], { payload: { custom3: "default" } }),
      ],
    });
    const grant = await verifyMercureToken(
      await token(AT_JWT, payloadClaims, await hmacSigner(SUBSCRIBE_SECRET)),
      "subscribe",
      auth,
    );
    expect(grant.matchers.map((matcher) => matcher.pattern)).toEqual([
      "https://example.com/books/1",
      "https://example.com/bar/:id",
      "*",
    ]);
    expect(subscriptionPayload(grant, "https://example.com/books/1")).toEqual({ custom1: "one" });
    expect(subscriptionPayload(grant, "https://example.com/bar/:id")).toEqual({ custom2: "bar" });
    expect(subscriptionPayload(grant, "https://example.com/other")).toEqual({ custom3: "default" });

    const narrow = await verifyMercureToken(
      await token(
        AT_JWT,
        claims({ authorization_details: [details(["subscribe"], [{ match: "https://example.com/books/1" }])] }),
        await hmacSigner(SUBSCRIBE_SECRET),
      ),
      "subscribe",
      auth,
    );
    const book = (id: number, isPrivate: boolean) => ({
      topics: [`https://example.com/books/${id}`],
      private: isPrivate,
    });
    expect(mayReceive(narrow, book(1, true), false)).toBe(true);
    expect(mayReceive(narrow, book(2, true), false)).toBe(false);
    expect(mayReceive(narrow, book(2, false), false)).toBe(true);
    expect(mayReceive(null, book(1, false), true)).toBe(true);
    expect(mayReceive(null, book(1, false), false)).toBe(false);
    expect(mayReceive(null, book(1, true), true)).toBe(false);
  });

  it.each([
    ["the mercure claim", { mercure: { publish: ["*"] } }],
    ["the namespaced claim", { "https://mercure.rocks/": { subscribe: ["*"] } }],
    ["the mercure claim with exp and an unsigned-for audience", { mercure: { publish: ["*"] }, exp: now() + 60 }],
  ])(
    "refuses a pre-standard token (%s) with 401 invalid_token that says to set MERCURE_PROTOCOL=legacy",
    async (_name, payload) => {
      const auth = await settings("draft", [{ alg: "HS256", key: PUBLISH_SECRET }]);
      const legacy = await token({ alg: "HS256", typ: "JWT" }, payload, await hmacSigner(PUBLISH_SECRET));
      const error = await refused(verifyMercureToken(legacy, "publish", auth));
      expect([error.status, error.code]).toEqual([401, "invalid_token"]);
      expect(error.headers["WWW-Authenticate"]).toBe(`Bearer error="invalid_token", resource_metadata="${METADATA}"`);
      expect(error.message).toMatch(/pre-standard.*MERCURE_PROTOCOL=legacy/);
      // Whatever its signature: the hint reads only what the client sent, and accepts nothing.
      const forged = await token({ alg: "HS256", typ: "JWT" }, payload, await hmacSigner(`${PUBLISH_SECRET}!`));
      expect((await refused(verifyMercureToken(forged, "publish", auth))).message).toMatch(/MERCURE_PROTOCOL=legacy/);
    },
  );

  it("says nothing of the pre-standard protocol for other invalid tokens", async () => {
    const auth = await settings("draft", [{ alg: "HS256", key: PUBLISH_SECRET }]);
    const signer = await hmacSigner(PUBLISH_SECRET);
    for (const candidate of [
      await token({ alg: "HS256", typ: "JWT" }, claims(), signer),
      await token(AT_JWT, claims({ iss: undefined, mercure: { publish: ["*"] } }), signer),
      "not-a-token",
    ]) {
      expect((await refused(verifyMercureToken(candidate, "publish", auth))).message).toBe(
        "The access token is not valid.",
      );
    }
  });

  it("answers a missing token with a bare Bearer challenge pointing at the resource metadata", async () => {
    const auth = await settings("draft", [{ alg: "HS256", key: PUBLISH_SECRET }]);
    const error = missingToken(auth);
    expect([error.status, error.headers["WWW-Authenticate"]]).toEqual([401, `Bearer resource_metadata="${METADATA}"`]);
    const response = error.toResponse();
    expect(response.status).toBe(401);
    expect(response.headers.get("WWW-Authenticate")).toBe(`Bearer resource_metadata="${METADATA}"`);
    expect(await response.json()).toEqual({ error: "unauthorized", message: error.message });
  });
});

describe("the spec's own token examples (draft-08 §Authorization, §Subscribers, §Payloads)", () => {
  const subscriber = async (authorizationDetails: unknown[]) => {
    // The example's self-issuing publisher is https://example.com: the hub binds the key to it.
    const auth = await settings(
      "draft",
      [{ alg: "HS256", key: PUBLISH_SECRET }],
      [{ alg: "HS256", key: SUBSCRIBE_SECRET, issuer: "https://example.com" }],
    );
    // §Authorization's example claims, signed as the example says (typ at+jwt), with HS256.
    const example = {
      iss: "https://example.com",
      aud: RESOURCE,
      sub: "urn:uuid:bb3de268-05b0-4c65-b44e-8f9acefc29d6",
      client_id: "https://example.com",
      iat: now(),
      exp: now() + 300,
      jti: "urn:uuid:e70ff8d7-59d5-4a92-b0b7-505e8f6d09fa",
      authorization_details: authorizationDetails,
    };
    return verifyMercureToken(await token(AT_JWT, example, await hmacSigner(SUBSCRIBE_SECRET)), "subscribe", auth);
  };
  const update = (topics: string[]) => ({ topics, private: true });

  it("§Authorization: subscribe on the URL pattern https://example.com/books/:id", async () => {
    const grant = await subscriber([
      {
        type: DETAIL_TYPE,
        actions: ["subscribe"],
        topics: [{ match: "https://example.com/books/:id", match_type: "urlpattern" }],
      },
    ]);
    expect(grant.subject).toBe("urn:uuid:bb3de268-05b0-4c65-b44e-8f9acefc29d6");
    expect(mayReceive(grant, update(["https://example.com/books/1"]), false)).toBe(true);
    expect(mayReceive(grant, update(["https://example.com/books/1/reviews"]), false)).toBe(false);
  });

  it("§Subscribers: exact grants for books 1 and 7; a private update of book 2 is not delivered", async () => {
    const grant = await subscriber([
      {
        type: DETAIL_TYPE,
        actions: ["subscribe"],
        topics: [
          { match: "https://example.com/books/1", match_type: "exact" },
          { match: "https://example.com/books/7", match_type: "exact" },
        ],
      },
    ]);
    expect(mayReceive(grant, update(["https://example.com/books/1"]), false)).toBe(true);
    expect(mayReceive(grant, update(["https://example.com/books/7"]), false)).toBe(true);
    expect(mayReceive(grant, update(["https://example.com/books/2"]), false)).toBe(false);
  });

  it("§Subscribers: a grant on users/42/* reads the private update of books/1 through its alternate topic", async () => {
    const grant = await subscriber([
      {
        type: DETAIL_TYPE,
        actions: ["subscribe"],
        topics: [{ match: "https://example.com/users/42/*", match_type: "urlpattern" }],
      },
    ]);
    const canonicalOnly = update(["https://example.com/books/1"]);
    const withAlternate = update(["https://example.com/books/1", "https://example.com/users/42/books/1"]);
    expect(mayReceive(grant, canonicalOnly, false)).toBe(false);
    expect(mayReceive(grant, withAlternate, false)).toBe(true);
    expect(
      mayReceive(grant, update(["https://example.com/books/1", "https://example.com/users/43/books/1"]), false),
    ).toBe(false);
  });

  it("§Payloads: the first detail whose matchers match the subscription's own matcher gives the payload; * (no type) is the default", async () => {
    const grant = await subscriber([
      {
        type: DETAIL_TYPE,
        actions: ["subscribe"],
        topics: [{ match: "https://example.com/foo" }],
        payload: { custom1: "data only available for this topic" },
      },
      {
        type: DETAIL_TYPE,
        actions: ["subscribe"],
        topics: [{ match: "https://example.com/bar/:id", match_type: "urlpattern" }],
        payload: { custom2: "data available for matching subscriptions" },
      },
      {
        type: DETAIL_TYPE,
        actions: ["subscribe"],
        topics: [{ match: "*" }],
        payload: { custom3: "default data for all other subscriptions" },
      },
    ]);
    expect(subscriptionPayload(grant, "https://example.com/foo")).toEqual({
      custom1: "data only available for this topic",
    });
    expect(subscriptionPayload(grant, "https://example.com/bar/:id")).toEqual({
      custom2: "data available for matching subscriptions",
    });
    expect(subscriptionPayload(grant, "https://example.com/bar/1")).toEqual({
      custom2: "data available for matching subscriptions",
    });
    expect(subscriptionPayload(grant, "https://example.com/baz")).toEqual({
      custom3: "default data for all other subscriptions",
    });
    // `*` matches every topic with or without a type (§Matcher Types: recognized before the type).
    expect(mayReceive(grant, update(["urn:anything"]), false)).toBe(true);
  });

  it("* matches every topic with match_type exact, urlpattern or none", async () => {
    for (const matcher of [
      { match: "*" },
      { match: "*", match_type: "exact" },
      { match: "*", match_type: "urlpattern" },
    ]) {
      const grant = await subscriber([{ type: DETAIL_TYPE, actions: ["subscribe"], topics: [matcher] }]);
      expect([matcher, mayReceive(grant, update(["not a URL at all"]), false)]).toEqual([matcher, true]);
    }
  });
});

describe("resourceMetadata (§Protected Resource Metadata)", () => {
  it("advertises the resource, the servers, the detail type, the one bearer method and the cookie's name", async () => {
    const plain = await settings("draft", [{ alg: "HS256", key: PUBLISH_SECRET }]);
    expect(resourceMetadataUrl(plain)).toBe(METADATA);
    expect(resourceMetadataUrl({ ...plain, resourceMetadataUrl: "https://meta.example/x" })).toBe(
      "https://meta.example/x",
    );
    // mercure_cookie is the cookie's name (a string); no version member (the protocol carries none).
    expect(resourceMetadata(plain, "__Secure-mercure_access_token")).toEqual({
      resource: RESOURCE,
      authorization_details_types_supported: ["https://mercure.rocks/authorization-detail"],
      bearer_methods_supported: ["header"],
      mercure_cookie: "__Secure-mercure_access_token",
    });
    const withServers = await settings("draft", [{ alg: "HS256", key: PUBLISH_SECRET }], undefined, {
      issuers: ["https://as.example"],
    });
    expect(resourceMetadata(withServers, null)).toEqual({
      resource: RESOURCE,
      authorization_servers: ["https://as.example"],
      authorization_details_types_supported: ["https://mercure.rocks/authorization-detail"],
      bearer_methods_supported: ["header"],
    });
  });
});

describe("verifyMercureToken, pre-standard mode (mercure claim)", () => {
  const JWT = { alg: "HS256", typ: "JWT" };

  it("accepts tokens without exp, aud or typ and reads mercure.publish / mercure.subscribe selectors", async () => {
    const auth = await settings("legacy", [{ alg: "HS256", key: PUBLISH_SECRET }]);
    const publisher = await verifyMercureToken(
      await token(
        { alg: "HS256" },
        { mercure: { publish: ["https://example.com/books/{id}"] } },
        await hmacSigner(PUBLISH_SECRET),
      ),
      "publish",
      auth,
    );
    expect(publisher.expiresAt).toBeUndefined();
    expect(mayPublish(publisher, ["https://example.com/books/1"])).toBe(true);
    expect(mayPublish(publisher, ["https://example.com/books/1", "https://example.com/other"])).toBe(false);
    const subscriber = await verifyMercureToken(
      await token(
        JWT,
        { mercure: { subscribe: ["https://example.com/users/{id}/inbox"], payload: { user: 1 } } },
        await hmacSigner(SUBSCRIBE_SECRET),
      ),
      "subscribe",
      auth,
    );
    const inbox = { topics: ["https://example.com/public", "https://example.com/users/7/inbox"], private: true };
    expect(mayReceive(subscriber, inbox, false)).toBe(true);
    expect(mayReceive(subscriber, { topics: ["https://example.com/users/7/outbox"], private: true }, false)).toBe(
      false,
    );
    expect(subscriptionPayload(subscriber, "https://example.com/users/7/inbox")).toEqual({ user: 1 });
    const star = await verifyMercureToken(
      await token(JWT, { mercure: { publish: ["*"] } }, await hmacSigner(PUBLISH_SECRET)),
      "publish",
      auth,
    );
    expect(mayPublish(star, ["anything", "at/all"])).toBe(true);
    const namespaced = await verifyMercureToken(
      await token(
        JWT,
        { "https://mercure.rocks/": { publish: ["a"] }, mercure: { publish: ["b"] } },
        await hmacSigner(PUBLISH_SECRET),
      ),
      "publish",
      auth,
    );
    expect([mayPublish(namespaced, ["a"]), mayPublish(namespaced, ["b"])]).toEqual([true, false]);
  });

  it("still enforces exp when present, and refuses malformed claims with a challenge without resource_metadata", async () => {
    const auth = await settings("legacy", [{ alg: "HS256", key: PUBLISH_SECRET }]);
    const signer = await hmacSigner(PUBLISH_SECRET);
    for (const payload of [
      { mercure: { publish: ["*"] }, exp: now() - 5 },
      { mercure: { publish: "*" } },
      { mercure: { publish: [1] } },
      { mercure: ["publish"] },
      { mercure: { publish: ["https://e.com/{a,b}"] } },
    ]) {
      const error = await refused(verifyMercureToken(await token(JWT, payload, signer), "publish", auth));
      expect([error.status, error.headers["WWW-Authenticate"]]).toEqual([401, 'Bearer error="invalid_token"']);
    }
    const draftToken = await token(AT_JWT, claims(), signer);
    expect((await refused(verifyMercureToken(draftToken, "publish", auth))).status).toBe(401);
    const empty = await verifyMercureToken(await token(JWT, { sub: "x" }, signer), "publish", auth);
    expect(mayPublish(empty, ["a"])).toBe(false);
  });
});

describe("importMercureKeys", () => {
  it.each<[string, MercureKeyConfig, RegExp]>([
    ["a short HS256 secret", { alg: "HS256", key: "too-short-secret" }, /at least 32 bytes/],
    ["a short HS512 secret", { alg: "HS512", key: PUBLISH_SECRET }, /at least 64 bytes/],
    [
      "a private PEM",
      { alg: "ES256", key: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----" },
      /public key/,
    ],
    [
      "a JWK for another algorithm",
      { alg: "ES256", key: { kty: "RSA", alg: "RS256", n: "AQAB", e: "AQAB" } },
      /alg RS256/,
    ],
    [
      "garbage",
      { alg: "RS256", key: "-----BEGIN PUBLIC KEY-----\nnot-base64-key-material\n-----END PUBLIC KEY-----" },
      /could not import/,
    ],
  ])("refuses %s without echoing the key", async (_name, config, message) => {
    const error = await importMercureKeys([config]).then(
      () => null,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toMatch(/^Mercure key 1 \(/);
    if (typeof config.key === "string") expect((error as Error).message).not.toContain(config.key);
  });
});

describe("checkCookieOrigin (§Security Considerations: CSRF)", () => {
  const post = (headers: Record<string, string>) =>
    new Request("https://hub.example.com/.well-known/mercure", { method: "POST", headers });
  it.each<[string, Record<string, string>, string[], boolean]>([
    ["the hub's own origin", { Origin: "https://hub.example.com" }, [], true],
    ["an allowed origin", { Origin: "https://app.example.com" }, ["https://app.example.com"], true],
    ["a subdomain of an allowed pattern", { Origin: "https://a.example.org" }, ["https://*.example.org"], true],
    ["a Referer on the hub's origin when Origin is absent", { Referer: "https://hub.example.com/page" }, [], true],
    ["another origin", { Origin: "https://evil.example" }, ["https://app.example.com"], false],
    ["an opaque origin", { Origin: "null" }, ["null"], false],
    ["a foreign Referer", { Referer: "https://evil.example/page" }, [], false],
    ["neither header", {}, [], false],
  ])("%s -> allowed: %s", (_name, headers, allowed, ok) => {
    const matcher = createOriginMatcher({ allowedOrigins: allowed, allowCredentials: true });
    const isAllowed = (origin: string) => matcher(origin) !== null;
    if (ok) expect(() => checkCookieOrigin(post(headers), isAllowed)).not.toThrow();
    else expect(() => checkCookieOrigin(post(headers), isAllowed)).toThrow(MercureRefused);
  });
});
