// Publish to the relay from a Node.js backend (Node 18+; standard library only).
// Run: node relay.mjs (against `npm run dev`; its values are the defaults below). Elsewhere set
// RELAY_URL, PUBLISH_TOKEN, SUBSCRIBE_JWT_SECRET and CHANNEL in the environment.
import { createHmac, randomUUID } from "node:crypto";

const {
  RELAY_URL = "http://localhost:8787",
  PUBLISH_TOKEN = "dev-token",
  SUBSCRIBE_JWT_SECRET = "dev-subscribe-secret-do-not-use-in-production",
  CHANNEL = "private-orders",
} = process.env;

async function post(path, body, headers = {}) {
  const response = await fetch(`${RELAY_URL}${path}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${PUBLISH_TOKEN}`, "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  if (response.status !== 201) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return { body: await response.json(), replayed: response.headers.get("Idempotent-Replayed") === "true" };
}

// One event. `data` may be a string or any JSON value.
const one = await post(`/v1/channels/${encodeURIComponent(CHANNEL)}/events`, {
  event: "greeting",
  data: { from: "node" },
});

// A batch with an Idempotency-Key: if the answer is lost, send the same request again
// with the same key; the relay answers the same ids and delivers the events once.
const key = randomUUID();
const batch = {
  events: [
    { channel: CHANNEL, data: "batch-1" },
    { channel: CHANNEL, data: "batch-2" },
  ],
};
const first = await post("/v1/events", batch, { "Idempotency-Key": key });
const retry = await post("/v1/events", batch, { "Idempotency-Key": key });

// A subscriber token (HS256 JWT) for a browser: it may read CHANNEL for one hour.
function subscriberToken(channels, ttlSeconds = 3600) {
  const part = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const exp = Math.floor(Date.now() / 1000) + ttlSeconds;
  const unsigned = `${part({ alg: "HS256", typ: "JWT" })}.${part({ scope: "subscribe", channels, exp })}`;
  const signature = createHmac("sha256", SUBSCRIBE_JWT_SECRET).update(unsigned).digest("base64url");
  return `${unsigned}.${signature}`;
}

console.log(
  JSON.stringify({
    id: one.body.id,
    batch: first.body.ids,
    retry: retry.body.ids,
    replayed: retry.replayed,
    token: subscriberToken([CHANNEL]),
  }),
);
