/**
 * Mercure authorization (draft-dunglas-mercure-08 §Authorization):
 * - where the token is read (§Presenting the Access Token): the
 *   `Authorization: Bearer` header, then the query parameter, then the cookie;
 * - how it is verified (§Token Validation): JWS compact serialization checked
 *   with hono's JWT helpers against keys configured per role (publisher,
 *   subscriber), chosen by the algorithm each key is configured for (never by
 *   the token alone), narrowed by `kid` when keys have one, each bound to
 *   its issuer; in draft mode `typ` must be `at+jwt`, `exp` is required,
 *   `aud` must hold the resource identifier, and `iss` must be present and
 *   exactly the issuer of the key that verified the token (and one of the
 *   advertised authorization servers when there are any); `nbf` is enforced;
 * - what it grants (§Authorization Details): the entries of
 *   `authorization_details` whose type is
 *   `https://mercure.rocks/authorization-detail` become topic matchers per
 *   action; in the
 *   pre-standard mode the `mercure` claim's `publish` / `subscribe` selector
 *   arrays do, and `exp` is optional.
 * Refusals carry the RFC 6750 challenge (§Error Responses): 401 without an
 * error code when a needed token is missing, 401 `invalid_token` for any token
 * failure (one sentence whatever the cause, the cause going to `reason`,
 * for the log; a pre-standard token on a draft-08 hub is told which setting
 * to change), 403 `insufficient_scope`, 400 `invalid_request`.
 */
import { verify } from "hono/jwt";
import { parse as parseCookies } from "hono/utils/cookie";
import { MercureRefused } from "./errors";
import { MERCURE_LIMITS } from "./limits";
import { compileMatcher, type Matcher, type MatcherType, matchesAny, matchingCost } from "./matchers";
import type { MercureAlgorithm, MercureMode } from "../config";
import { AUTHORIZATION_DETAIL_TYPE, COOKIE_NAME } from "./protocol";
import type { MercureUpdate } from "./update";

/** How WebCrypto imports a key for each algorithm; HMAC keys must be at least as long as the hash (RFC 7518 §3.2). */
type ImportAlgorithm = Parameters<SubtleCrypto["importKey"]>[2];
const ALGORITHMS: Record<MercureAlgorithm, { params: ImportAlgorithm; minSecretBytes?: number }> = {
  HS256: { params: { name: "HMAC", hash: "SHA-256" }, minSecretBytes: 32 },
  HS384: { params: { name: "HMAC", hash: "SHA-384" }, minSecretBytes: 48 },
  HS512: { params: { name: "HMAC", hash: "SHA-512" }, minSecretBytes: 64 },
  RS256: { params: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" } },
  RS384: { params: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-384" } },
  RS512: { params: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-512" } },
  PS256: { params: { name: "RSA-PSS", hash: "SHA-256" } },
  PS384: { params: { name: "RSA-PSS", hash: "SHA-384" } },
  PS512: { params: { name: "RSA-PSS", hash: "SHA-512" } },
  ES256: { params: { name: "ECDSA", namedCurve: "P-256" } },
  ES384: { params: { name: "ECDSA", namedCurve: "P-384" } },
  ES512: { params: { name: "ECDSA", namedCurve: "P-521" } },
  EdDSA: { params: { name: "Ed25519" } },
};

/** One verification key as configured: an HMAC secret, or a public key as SPKI PEM or JWK (object or JSON text). */
export interface MercureKeyConfig {
  readonly alg: MercureAlgorithm;
  readonly key: string | JsonWebKey;
  /** Tokens whose header names a `kid` use the keys with that `kid` (when keys of that algorithm have one). */
  readonly kid?: string;
  /** Tokens verified with this key must carry this `iss`. */
  readonly issuer?: string;
}

interface VerificationKey {
  readonly alg: MercureAlgorithm;
  readonly cryptoKey: CryptoKey;
  readonly kid: string | undefined;
  readonly issuer: string | undefined;
}

/** The keys of one role, imported once (importMercureKeys). */
export interface MercureKeys {
  readonly keys: readonly VerificationKey[];
}

/**
 * Imports a role's keys; a TypeError naming the key's position and algorithm
 * (never its value) for a key WebCrypto refuses, a short HMAC secret, a
 * private key, or a JWK whose `alg` disagrees.
 */
export async function importMercureKeys(configs: readonly MercureKeyConfig[]): Promise<MercureKeys> {
  const keys: VerificationKey[] = [];
  for (const [index, config] of configs.entries()) {
    const where = `Mercure key ${index + 1} (${config.alg})`;
    const algorithm = ALGORITHMS[config.alg];
    if (!algorithm) throw new TypeError(`${where}: unsupported algorithm`);
    let cryptoKey: CryptoKey;
    let kid = config.kid;
    try {
      if (algorithm.minSecretBytes !== undefined) {
        if (typeof config.key !== "string") throw new TypeError("an HMAC key is a secret string");
        const secret = new TextEncoder().encode(config.key);
        if (secret.byteLength < algorithm.minSecretBytes) {
          throw new TypeError(`the secret must be at least ${algorithm.minSecretBytes} bytes long`);
        }
        cryptoKey = await crypto.subtle.importKey("raw", secret, algorithm.params, false, ["verify"]);
      } else {
        const text = typeof config.key === "string" ? config.key.trim() : undefined;
        if (text?.includes("PRIVATE")) throw new TypeError("configure the public key, not the private one");
        if (text?.startsWith("-----BEGIN PUBLIC KEY-----")) {
          cryptoKey = await crypto.subtle.importKey("spki", pemBody(text), algorithm.params, false, ["verify"]);
        } else {
          const jwk = (text === undefined ? config.key : JSON.parse(text)) as JsonWebKey & { kid?: string };
          if (typeof jwk !== "object" || jwk === null) throw new TypeError("expected a PEM public key or a JWK");
          if (jwk.d !== undefined) throw new TypeError("configure the public key, not the private one");
          if (jwk.alg !== undefined && jwk.alg !== config.alg) throw new TypeError(`the JWK says alg ${jwk.alg}`);
          kid ??= jwk.kid;
          cryptoKey = await crypto.subtle.importKey("jwk", jwk, algorithm.params, false, ["verify"]);
        }
      }
    } catch (error) {
      const why = error instanceof TypeError ? error.message : "WebCrypto could not import it for this algorithm";
      throw new TypeError(`${where}: ${why}`);
    }
    keys.push({ alg: config.alg, cryptoKey, kid, issuer: config.issuer });
  }
  return { keys };
}

function pemBody(pem: string): Uint8Array<ArrayBuffer> {
  const base64 = pem.replace(/-----(BEGIN|END) PUBLIC KEY-----/g, "").replace(/\s+/g, "");
  return Uint8Array.from(atob(base64), (character) => character.charCodeAt(0));
}

export interface MercureAuthSettings {
  readonly mode: MercureMode;
  readonly hubUrl: URL;
  /** The hub's OAuth resource identifier: draft-mode tokens must name it in `aud`. */
  readonly resourceIdentifier: string;
  /** Issuer identifiers of the authorization servers the hub advertises; when any, `iss` must be one (draft mode). */
  readonly issuers: readonly string[];
  readonly publisherKeys: MercureKeys;
  readonly subscriberKeys: MercureKeys;
  /** The protected resource metadata URL named in challenges (default: derived from the hub URL per RFC 9728). */
  readonly resourceMetadataUrl?: string;
  /** Token size and matcher caps (defaults: MERCURE_LIMITS). */
  readonly limits?: Partial<
    Pick<
      typeof MERCURE_LIMITS,
      "maxAuthorizationDetails" | "maxTokenMatchers" | "maxPatternLength" | "maxTokenLength" | "maxMatcherCost"
    >
  >;
}

export type MercureRole = "publish" | "subscribe";

export interface MercureGrant {
  /** Topic matchers the token grants the role on. */
  readonly matchers: readonly Matcher[];
  /** `exp`, in milliseconds since the epoch (a subscriber's stream must end by then). */
  readonly expiresAt?: number;
  readonly subject?: string;
  /** Subscribe grants: each detail's matchers and its `payload`, in token order (draft-08 §Payloads). */
  readonly payloads?: ReadonlyArray<{ readonly matchers: readonly Matcher[]; readonly payload: unknown }>;
}

export type TokenSource = "header" | "cookie" | "query";

export interface ExtractOptions {
  /** Cookie name (default: `__Secure-mercure_access_token` in draft mode, `mercureAuthorization` in the pre-standard mode). */
  readonly cookieName?: string;
}

const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/**
 * The one token the request presents (draft-08 §Presenting the Access
 * Token): the `Authorization: Bearer` header, else the cookie; the
 * pre-standard mode also reads its `authorization` query parameter, between
 * the two. A malformed Authorization header is a 400 `invalid_request`. The
 * draft's hubs do not accept the `access_token` query parameter (RFC 9700
 * forbids tokens in URLs): one is a 400 `invalid_request` that says where
 * the token goes, rather than a token silently ignored.
 */
export function extractToken(
  request: Request,
  mode: MercureMode,
  options: ExtractOptions = {},
): { token: string; source: TokenSource } | null {
  const header = request.headers.get("Authorization");
  if (header !== null) {
    const bearer = BEARER.exec(header);
    if (!bearer) {
      throw new MercureRefused(400, "invalid_request", 'The Authorization header must be "Bearer <access token>".', {
        "WWW-Authenticate": 'Bearer error="invalid_request"',
      });
    }
    return { token: bearer[1]!, source: "header" };
  }
  const query = new URL(request.url).searchParams;
  if (mode === "legacy") {
    const token = query.get("authorization");
    if (token) return { token, source: "query" };
  } else {
    if (query.has("access_token")) {
      throw new MercureRefused(
        400,
        "invalid_request",
        `This hub takes no access token in the URL (URLs end up in logs): send it in the Authorization header or the ${options.cookieName ?? COOKIE_NAME.draft} cookie.`,
        { "WWW-Authenticate": 'Bearer error="invalid_request"' },
      );
    }
  }
  const cookie = request.headers.get("Cookie");
  if (cookie) {
    const name = options.cookieName ?? COOKIE_NAME[mode];
    const token = parseCookies(cookie, name)[name];
    if (token) return { token, source: "cookie" };
  }
  return null;
}

/** The `WWW-Authenticate` value for a refusal (RFC 6750 §3; RFC 9728 `resource_metadata` in draft mode). */
function challenge(settings: MercureAuthSettings, error?: string): Record<string, string> {
  const parameters: string[] = [];
  if (error) parameters.push(`error="${error}"`);
  if (settings.mode === "draft") parameters.push(`resource_metadata="${resourceMetadataUrl(settings)}"`);
  return { "WWW-Authenticate": parameters.length ? `Bearer ${parameters.join(", ")}` : "Bearer" };
}

/** Where the protected resource metadata is (RFC 9728 §3.1: the well-known prefix before the hub's path). */
export function resourceMetadataUrl(settings: MercureAuthSettings): string {
  return (
    settings.resourceMetadataUrl ??
    new URL(`/.well-known/oauth-protected-resource${settings.hubUrl.pathname}`, settings.hubUrl).href
  );
}

/**
 * The protected resource metadata document (draft-08 §Protected Resource
 * Metadata): the resource identifier, the authorization servers when any,
 * the authorization detail type the hub understands, the one RFC 6750 method
 * it accepts (`header`), and the name of the cookie it also reads
 * (`mercure_cookie`, when it reads one). No version member: the protocol
 * carries none. `mercure_matcher_types_supported` is left out: its absence
 * means exactly `exact` and `urlpattern`.
 */
export function resourceMetadata(settings: MercureAuthSettings, cookieName: string | null): Record<string, unknown> {
  return {
    resource: settings.resourceIdentifier,
    ...(settings.issuers.length > 0 ? { authorization_servers: [...settings.issuers] } : {}),
    authorization_details_types_supported: [AUTHORIZATION_DETAIL_TYPE],
    bearer_methods_supported: ["header"],
    ...(cookieName === null ? {} : { mercure_cookie: cookieName }),
  };
}

/** 401 for a request that needs a token and has none: the challenge has no error code (draft-08 §Error Responses). */
export function missingToken(settings: MercureAuthSettings): MercureRefused {
  return new MercureRefused(
    401,
    "unauthorized",
    "This needs an access token (Authorization: Bearer, or the hub's cookie).",
    challenge(settings),
  );
}

/** 403 for a valid token that does not grant the operation. */
export function insufficientScope(settings: MercureAuthSettings, message: string): MercureRefused {
  return new MercureRefused(403, "insufficient_scope", message, challenge(settings, "insufficient_scope"));
}

function invalidToken(settings: MercureAuthSettings, reason: string): MercureRefused {
  return new MercureRefused(
    401,
    "invalid_token",
    "The access token is not valid.",
    challenge(settings, "invalid_token"),
    reason,
  );
}

/** Verifies a token for a role and returns what it grants; every failure is a 401 `invalid_token`. */
export async function verifyMercureToken(
  token: string,
  role: MercureRole,
  settings: MercureAuthSettings,
): Promise<MercureGrant> {
  const limits = { ...MERCURE_LIMITS, ...settings.limits };
  if (token.length > limits.maxTokenLength) throw invalidToken(settings, "token too long");
  const header = decodeSegment(token, 0);
  if (!header) throw invalidToken(settings, "malformed token header");
  const roleKeys = (role === "publish" ? settings.publisherKeys : settings.subscriberKeys).keys;
  let candidates = roleKeys.filter((key) => key.alg === header.alg);
  if (candidates.length === 0) throw invalidToken(settings, `no ${role} key for alg ${String(header.alg)}`);
  if (typeof header.kid === "string" && candidates.some((key) => key.kid !== undefined)) {
    candidates = candidates.filter((key) => key.kid === header.kid);
  }
  const draft = settings.mode === "draft";
  let payload: Record<string, unknown> | undefined;
  let failure = `no ${role} key with kid ${String(header.kid)}`;
  for (const key of candidates) {
    try {
      const verified = (await verify(token, key.cryptoKey, {
        alg: key.alg,
        iat: false,
        ...(draft ? { typ: "at+jwt", aud: settings.resourceIdentifier } : {}),
      })) as Record<string, unknown>;
      // draft-08 §Token Validation: `iss` present and exactly the issuer this key belongs to.
      if (
        draft
          ? key.issuer === undefined || verified.iss !== key.issuer
          : key.issuer !== undefined && verified.iss !== key.issuer
      ) {
        failure = key.issuer === undefined ? "the key has no issuer" : "iss is not the key's issuer";
        continue;
      }
      payload = verified;
      break;
    } catch (error) {
      failure = error instanceof Error ? error.name : "verification failed";
    }
  }
  if (!payload) {
    // A pre-standard token sent to a draft-08 hub: still refused, but the answer says what to change.
    if (draft && isPreStandard(decodeSegment(token, 1))) throw preStandardToken(settings, failure);
    throw invalidToken(settings, failure);
  }
  if (draft) {
    if (typeof payload.exp !== "number") throw invalidToken(settings, "no exp claim");
    if (settings.issuers.length > 0 && !settings.issuers.includes(payload.iss as string)) {
      throw invalidToken(settings, "iss is not an authorization server of this hub");
    }
  }
  const rights = draft
    ? authorizationDetails(payload.authorization_details, role, settings, limits)
    : legacyClaim(payload[NAMESPACED_CLAIM] ?? payload.mercure, role, settings, limits);
  const cost = matchingCost(rights.matchers);
  if (cost > limits.maxMatcherCost) throw invalidToken(settings, `topic matchers too complex (cost ${cost})`);
  const grant: {
    matchers: readonly Matcher[];
    expiresAt?: number;
    subject?: string;
    payloads?: Array<{ matchers: readonly Matcher[]; payload: unknown }>;
  } = { matchers: rights.matchers };
  if (typeof payload.exp === "number") grant.expiresAt = payload.exp * 1000;
  if (typeof payload.sub === "string" && payload.sub !== "") grant.subject = payload.sub;
  if (role === "subscribe") grant.payloads = rights.payloads;
  return grant;
}

/** The JSON object of a token's header (0) or payload (1), unverified; null if it is not one. */
function decodeSegment(token: string, index: 0 | 1): Record<string, unknown> | null {
  const encoded = token.split(".", 2)[index];
  if (!encoded || !/^[A-Za-z0-9_-]+$/.test(encoded)) return null;
  try {
    const json = atob(
      encoded
        .replace(/-/g, "+")
        .replace(/_/g, "/")
        .padEnd(Math.ceil(encoded.length / 4) * 4, "="),
    );
    const value: unknown = JSON.parse(new TextDecoder().decode(Uint8Array.from(json, (c) => c.charCodeAt(0))));
    return isObject(value) ? value : null;
  } catch {
    return null;
  }
}

/** A payload with the pre-standard `mercure` claim (or its namespaced name) and no `authorization_details`. */
function isPreStandard(payload: Record<string, unknown> | null): boolean {
  return (
    payload !== null &&
    payload.authorization_details === undefined &&
    (isObject(payload.mercure) || isObject(payload[NAMESPACED_CLAIM]))
  );
}

/** 401 `invalid_token`, as any failure, with a sentence that names the setting (the client sent the claim itself). */
function preStandardToken(settings: MercureAuthSettings, reason: string): MercureRefused {
  return new MercureRefused(
    401,
    "invalid_token",
    "The access token is not valid: it is a pre-standard Mercure token (a mercure claim), and this hub speaks draft-dunglas-mercure-08 (authorization_details). Set MERCURE_PROTOCOL=legacy on the hub for pre-standard publishers and subscribers, or issue draft-08 access tokens.",
    challenge(settings, "invalid_token"),
    `pre-standard token: ${reason}`,
  );
}

interface Rights {
  matchers: Matcher[];
  payloads: Array<{ matchers: readonly Matcher[]; payload: unknown }>;
}

type Limits = typeof MERCURE_LIMITS;

/**
 * draft-08 §Authorization Details, §Topic Matcher List: every Mercure detail
 * (`type` exactly AUTHORIZATION_DETAIL_TYPE) must be valid, or the whole
 * token is refused (no partial acceptance): `actions` a non-empty array of
 * strings (actions other than publish and subscribe grant nothing and are no
 * error), `topics` a non-empty array of `{match, match_type?}` objects whose
 * `match_type` is `exact` (the default) or `urlpattern`, `payload` an object.
 * Details of other types are not this hub's and are skipped.
 */
function authorizationDetails(
  claim: unknown,
  role: MercureRole,
  settings: MercureAuthSettings,
  limits: Limits,
): Rights {
  const rights: Rights = { matchers: [], payloads: [] };
  if (claim === undefined) return rights;
  if (!Array.isArray(claim)) throw invalidToken(settings, "authorization_details is not an array");
  let details = 0;
  let matcherCount = 0;
  for (const detail of claim) {
    if (!isObject(detail)) throw invalidToken(settings, "an authorization detail is not an object");
    if (detail.type !== AUTHORIZATION_DETAIL_TYPE) continue;
    if (++details > limits.maxAuthorizationDetails) throw invalidToken(settings, "too many Mercure details");
    const { actions, topics, payload } = detail;
    if (!Array.isArray(actions) || actions.length === 0 || !actions.every((action) => typeof action === "string")) {
      throw invalidToken(settings, "Mercure detail actions must be a non-empty array of strings");
    }
    if (!Array.isArray(topics) || topics.length === 0) {
      throw invalidToken(settings, "Mercure detail topics must be a non-empty array");
    }
    matcherCount += topics.length;
    if (matcherCount > limits.maxTokenMatchers) throw invalidToken(settings, "too many topic matchers");
    if (payload !== undefined && !isObject(payload)) throw invalidToken(settings, "payload must be an object");
    const matchers = topics.map((entry): Matcher => {
      if (!isObject(entry) || typeof entry.match !== "string") {
        throw invalidToken(settings, "a topic matcher must be an object with a string match");
      }
      // Absent means exact; any value present (null included) must name a supported type.
      const type = Object.hasOwn(entry, "match_type") ? entry.match_type : "exact";
      if (type !== "exact" && type !== "urlpattern") {
        throw invalidToken(settings, "match_type must be exact or urlpattern");
      }
      return compileTokenMatcher(type, entry.match, settings, limits);
    });
    if (!actions.includes(role)) continue;
    rights.matchers.push(...matchers);
    if (payload !== undefined) rights.payloads.push({ matchers, payload });
  }
  return rights;
}

/** The reference hub also reads the pre-standard claim under this name, in preference to `mercure`. */
const NAMESPACED_CLAIM = "https://mercure.rocks/";

/** The pre-standard `mercure` claim: `{publish?: string[], subscribe?: string[], payload?: any}`. */
function legacyClaim(claim: unknown, role: MercureRole, settings: MercureAuthSettings, limits: Limits): Rights {
  const rights: Rights = { matchers: [], payloads: [] };
  if (claim === undefined) return rights;
  if (!isObject(claim)) throw invalidToken(settings, "the mercure claim is not an object");
  const selectors = claim[role];
  if (selectors === undefined) return rights;
  if (!Array.isArray(selectors) || !selectors.every((selector) => typeof selector === "string")) {
    throw invalidToken(settings, `mercure.${role} must be an array of strings`);
  }
  if (selectors.length > limits.maxTokenMatchers) throw invalidToken(settings, "too many topic selectors");
  rights.matchers = selectors.map((selector) => compileTokenMatcher("uritemplate", selector, settings, limits));
  if (claim.payload !== undefined) rights.payloads.push({ matchers: rights.matchers, payload: claim.payload });
  return rights;
}

function compileTokenMatcher(
  type: MatcherType,
  pattern: string,
  settings: MercureAuthSettings,
  limits: Limits,
): Matcher {
  try {
    return compileMatcher(type, pattern, settings.hubUrl, limits.maxPatternLength);
  } catch (error) {
    if (error instanceof MercureRefused) throw invalidToken(settings, `topic matcher refused: ${error.message}`);
    throw error;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** True if the grant covers every topic of the update (draft-08 §Publishers; all topics in the pre-standard mode). */
export function mayPublish(grant: MercureGrant, topics: readonly string[]): boolean {
  return topics.length > 0 && topics.every((topic) => grant.matchers.some((matcher) => matcher.matches(topic)));
}

/**
 * True if a subscriber holding `grant` (null: anonymous) may receive the
 * update: public updates reach everyone admitted (anonymous subscribers only
 * where anonymous access is on); private ones only a grant whose subscribe
 * matchers match one of the update's topics (draft-08 §Subscribers). The
 * subscriber's own selectors are checked apart (matchesAny): they never widen
 * this.
 */
export function mayReceive(
  grant: MercureGrant | null,
  update: Pick<MercureUpdate, "topics" | "private">,
  anonymousAllowed: boolean,
): boolean {
  if (grant === null && !anonymousAllowed) return false;
  if (!update.private) return true;
  return grant !== null && matchesAny(grant.matchers, update.topics);
}

/**
 * The payload of a subscription (draft-08 §Payloads): that of the first
 * subscribe detail one of whose matchers matches the subscription's own
 * selector string, taken as a topic.
 */
export function subscriptionPayload(grant: MercureGrant, selector: string): unknown {
  return grant.payloads?.find((entry) => entry.matchers.some((matcher) => matcher.matches(selector)))?.payload;
}

/**
 * Cross-site request forgery check for cookie-authorized publishing
 * (draft-08 §Security Considerations): the `Origin` (else `Referer`) origin
 * must be the hub's own or one `isAllowed` accepts; neither header is a
 * refusal. Call it only when the token came from the cookie.
 */
export function checkCookieOrigin(request: Request, isAllowed: (origin: string) => boolean): void {
  let origin = request.headers.get("Origin");
  if (origin === null) {
    const referer = request.headers.get("Referer");
    try {
      origin = referer ? new URL(referer).origin : null;
    } catch {
      origin = null;
    }
  }
  const target = new URL(request.url).origin;
  if (origin !== null && origin !== "null" && (origin === target || isAllowed(origin))) return;
  throw new MercureRefused(
    403,
    "cross_origin",
    origin === null
      ? "A request authorized by cookie must carry an Origin or Referer header."
      : "A request authorized by cookie must come from the hub's origin or an allowed one.",
  );
}
