// Publishes to the relay's Mercure hub as draft-dunglas-mercure-08 has it (Node 18+; standard library only):
// a self-issued publisher access token built as the draft's examples build it, then a form-encoded POST.
//
//   MERCURE_URL=http://localhost:8787/.well-known/mercure \
//   MERCURE_PUBLISHER_JWT_KEY=dev-mercure-publisher-key-do-not-use-in-production \
//   MERCURE_PUBLISHER_JWT_ISSUER=http://localhost:8000 \
//     node publish.mjs https://example.com/books/1 '{"title":"Dune"}' [private] [alternate topic…]
//
// The hub checks the token's iss against MERCURE_PUBLISHER_JWT_ISSUER and its aud against its resource
// identifier (MERCURE_RESOURCE, else its own URL: MERCURE_URL). Prints the update's id.
import { createHmac, randomUUID } from "node:crypto";

const hubUrl = process.env.MERCURE_URL ?? "http://localhost:8787/.well-known/mercure";
const { MERCURE_PUBLISHER_JWT_KEY: key, MERCURE_PUBLISHER_JWT_ISSUER: issuer } = process.env;
const resource = process.env.MERCURE_RESOURCE || hubUrl;
const [topic, data, ...rest] = process.argv.slice(2);
if (!key || !issuer || topic === undefined || data === undefined) {
  console.error(
    "usage: MERCURE_PUBLISHER_JWT_KEY=… MERCURE_PUBLISHER_JWT_ISSUER=… node publish.mjs <topic> <data> [private] [alternate topic…]",
  );
  process.exit(2);
}
const isPrivate = rest[0] === "private";
const alternates = isPrivate ? rest.slice(1) : rest;

// draft-08 §Authorization: a JWS with the protected header {"alg": …, "typ": "at+jwt"} and the RFC 9068 claims,
// its rights in one authorization detail of type https://mercure.rocks/authorization-detail.
function accessToken(ttlSeconds = 300) {
  const part = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: issuer,
    aud: resource,
    sub: `urn:uuid:${randomUUID()}`,
    client_id: issuer,
    iat: now,
    exp: now + ttlSeconds,
    jti: `urn:uuid:${randomUUID()}`,
    authorization_details: [
      {
        type: "https://mercure.rocks/authorization-detail",
        actions: ["publish"],
        topics: [topic, ...alternates].map((match) => ({ match })),
      },
    ],
  };
  const unsigned = `${part({ alg: "HS256", typ: "at+jwt" })}.${part(claims)}`;
  return `${unsigned}.${createHmac("sha256", key).update(unsigned).digest("base64url")}`;
}

// draft-08 §Publication: the canonical topic first, then any alternate topics; `private` marks the update private.
const form = new URLSearchParams([
  ["topic", topic],
  ...alternates.map((alternate) => ["topic", alternate]),
  ["data", data],
]);
if (isPrivate) form.append("private", "on");
const response = await fetch(hubUrl, {
  method: "POST",
  headers: { Authorization: `Bearer ${accessToken()}`, "Content-Type": "application/x-www-form-urlencoded" },
  body: form,
});
const text = await response.text();
if (response.status !== 200) {
  console.error(`publish failed: ${response.status} ${text}`);
  process.exit(1);
}
console.log(text);
