/**
 * Test helpers for the Mercure hub: access tokens signed with HS256 through
 * WebCrypto, so the header (`typ: at+jwt`) and claims are exactly what a test
 * says, and a form-encoded publish. Work in workerd (worker tests) and in
 * Node (e2e and browser tests).
 */
const encoder = new TextEncoder();

function base64url(bytes: Uint8Array | string): string {
  const raw = typeof bytes === "string" ? encoder.encode(bytes) : bytes;
  let binary = "";
  for (const byte of raw) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

async function hs256(payload: object, secret: string, header: object = { typ: "at+jwt" }): Promise<string> {
  const head = base64url(JSON.stringify({ alg: "HS256", ...header }));
  const body = base64url(JSON.stringify(payload));
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
  ]);
  const signature = await crypto.subtle.sign("HMAC", key, encoder.encode(`${head}.${body}`));
  return `${head}.${body}.${base64url(new Uint8Array(signature))}`;
}

export type Matcher = { match: string; match_type?: "exact" | "urlpattern" };

/** The issuer the test relays bind their Mercure keys to (MERCURE_PUBLISHER_JWT_ISSUER, …_SUBSCRIBER_…). */
export const TEST_ISSUER = "https://app.example.com";

/**
 * A draft-08 access token as the spec's examples build it (§Authorization): header `typ: at+jwt`,
 * the RFC 9068 claims (`iss`, `aud` the hub's resource identifier, `sub`, `client_id`, `iat`, `exp`,
 * `jti`) and one Mercure authorization detail. `extra` overrides any claim (undefined drops it).
 */
export function draftToken(
  secret: string,
  audience: string,
  actions: string[],
  topics: Matcher[],
  extra: Record<string, unknown> = {},
): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  return hs256(
    {
      iss: TEST_ISSUER,
      aud: audience,
      sub: `urn:uuid:${crypto.randomUUID()}`,
      client_id: TEST_ISSUER,
      iat,
      exp: iat + 3600,
      jti: `urn:uuid:${crypto.randomUUID()}`,
      authorization_details: [{ type: "https://mercure.rocks/authorization-detail", actions, topics }],
      ...extra,
    },
    secret,
  );
}

/** A pre-standard token: the `mercure` claim, no `exp` needed. */
export function legacyToken(secret: string, claim: { publish?: string[]; subscribe?: string[] }): Promise<string> {
  return hs256({ mercure: claim }, secret, { typ: "JWT" });
}

/** Publishes one update over plain HTTP; returns the id the hub answered (throws on anything but 200). */
export async function publishToHub(hubUrl: string, token: string, fields: [string, string][]): Promise<string> {
  const response = await fetch(hubUrl, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields),
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`publish failed: ${response.status} ${text}`);
  return text;
}
