/**
 * `npm run token -- <subscribe|publish> <channel or prefix*>... [--ttl seconds]`
 * `npm run token -- <mercure-subscribe|mercure-publish> <topic, URL pattern or *>... [--ttl seconds] [--urlpattern] [--legacy]`
 *
 * Mints an HS256 JWT for local use: a subscriber token (private channels)
 * or a scoped publisher token (publish to these channels only). Signed with
 * the secret the local relay uses: SUBSCRIBE_JWT_SECRET / PUBLISH_JWT_SECRET
 * from the environment, else from .dev.vars, else `npm run dev`'s default
 * (scripts/dev-vars.ts). Prints the token alone on stdout (for `$(…)`), and
 * what it grants on stderr; never prints the secret. Mercure tokens are
 * draft-08 access tokens built as the spec's examples build them (typ
 * at+jwt; iss the key's issuer MERCURE_PUBLISHER/SUBSCRIBER_JWT_ISSUER, aud
 * MERCURE_RESOURCE, sub, client_id, iat, exp, jti; one
 * https://mercure.rocks/authorization-detail with exact topics, or URL
 * patterns with --urlpattern, `*` for all) or, with --legacy, pre-standard
 * ones (the `mercure` claim), signed with MERCURE_PUBLISHER/SUBSCRIBER_JWT_KEY.
 */
import { sign } from "hono/jwt";
import { localVars } from "./dev-vars.ts";

const USAGE = `usage: npm run token -- <subscribe|publish|mercure-subscribe|mercure-publish> <channel, prefix* or topic>... [--ttl seconds] [--urlpattern] [--legacy]
  npm run token -- subscribe private-chat          # read a private channel
  npm run token -- publish 'orders-*' --ttl 600    # publish to orders-… for 10 minutes
  npm run token -- mercure-publish '*'             # publish any topic to the Mercure hub (--legacy: pre-standard token)
  npm run token -- mercure-subscribe --urlpattern 'https://example.com/books/:id'   # read private updates of these topics`;

const SECRET_VARIABLE = {
  subscribe: "SUBSCRIBE_JWT_SECRET",
  publish: "PUBLISH_JWT_SECRET",
  "mercure-subscribe": "MERCURE_SUBSCRIBER_JWT_KEY",
  "mercure-publish": "MERCURE_PUBLISHER_JWT_KEY",
} as const;
type Scope = keyof typeof SECRET_VARIABLE;

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

const args = process.argv.slice(2);
const scope = args.shift();
if (scope === undefined || !Object.hasOwn(SECRET_VARIABLE, scope)) fail(`unknown token kind ${JSON.stringify(scope)}`);
const kind = scope as Scope;
let legacy = false;
let urlPatterns = false;

let ttlSeconds = 3_600;
const channels: string[] = [];
for (let index = 0; index < args.length; index++) {
  const arg = args[index]!;
  if (arg === "--ttl" || arg.startsWith("--ttl=")) {
    const value = arg === "--ttl" ? args[++index] : arg.slice("--ttl=".length);
    ttlSeconds = Number(value);
    if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0) fail(`--ttl must be a positive whole number of seconds`);
  } else if (arg === "--legacy" && kind.startsWith("mercure-")) {
    legacy = true;
  } else if (arg === "--urlpattern" && kind.startsWith("mercure-")) {
    urlPatterns = true;
  } else if (arg.startsWith("-")) {
    fail(`unknown option ${arg}`);
  } else {
    channels.push(arg);
  }
}
if (channels.length === 0) fail("name at least one channel (or a prefix ending in *)");

const vars = { ...localVars(), ...process.env };
const variable = SECRET_VARIABLE[kind];
const secret = vars[variable];
if (!secret) fail(`${variable} is not set (environment or .dev.vars)`);

const iat = Math.floor(Date.now() / 1000);
const exp = iat + ttlSeconds;
let token: string;
if (kind === "subscribe" || kind === "publish") {
  token = await sign({ scope: kind, channels, exp }, secret, "HS256");
} else {
  const action = kind === "mercure-publish" ? "publish" : "subscribe";
  const resource = vars.MERCURE_RESOURCE || "http://localhost:8787/.well-known/mercure";
  if (legacy) {
    if (urlPatterns) fail("--urlpattern is a draft-08 matcher type: pre-standard tokens use URI templates");
    token = await sign({ mercure: { [action]: channels }, exp }, secret, "HS256");
  } else {
    // The hub binds each key to an issuer; the subscriber key's defaults to the publisher key's.
    const issuerVariable = action === "publish" ? "MERCURE_PUBLISHER_JWT_ISSUER" : "MERCURE_SUBSCRIBER_JWT_ISSUER";
    const issuer = vars[issuerVariable] || vars.MERCURE_PUBLISHER_JWT_ISSUER;
    if (!issuer) fail(`${issuerVariable} is not set (environment or .dev.vars): the hub checks iss against it`);
    token = await signAccessToken(
      {
        iss: issuer,
        aud: resource,
        sub: `urn:uuid:${crypto.randomUUID()}`,
        client_id: issuer,
        iat,
        exp,
        jti: `urn:uuid:${crypto.randomUUID()}`,
        authorization_details: [
          {
            type: "https://mercure.rocks/authorization-detail",
            actions: [action],
            topics: channels.map((match) => (urlPatterns ? { match, match_type: "urlpattern" } : { match })),
          },
        ],
      },
      secret,
    );
  }
}
console.error(`${kind} token for ${channels.join(", ")}, expires ${new Date(exp * 1000).toISOString()}`);
console.log(token);

/** An RFC 9068 access token (header typ at+jwt, which hono's sign does not write), HS256. */
async function signAccessToken(payload: object, key: string): Promise<string> {
  const encode = (value: object | Uint8Array) =>
    Buffer.from(value instanceof Uint8Array ? value : JSON.stringify(value)).toString("base64url");
  const signingInput = `${encode({ alg: "HS256", typ: "at+jwt" })}.${encode(payload)}`;
  const hmac = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(key),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const signature = new Uint8Array(await crypto.subtle.sign("HMAC", hmac, new TextEncoder().encode(signingInput)));
  return `${signingInput}.${encode(signature)}`;
}
