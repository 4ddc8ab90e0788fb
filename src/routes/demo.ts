/**
 * The live demo (a shared note), served only when DEMO_ENABLED=true, which
 * `npm run dev` sets and a deployment does not. Its edit endpoint publishes
 * without a token, which is why it must never be on in production.
 */
import { Hono } from "hono";
import type { ChannelObject } from "../objects/channel-object";
import type { Env } from "../env";
import type { RelayEnv } from "../http/context";
import { ApiError } from "../http/errors";
import { parseEventData } from "../events/event-rules";
import { mediaTypeOf } from "../http/validation";
import { objectNamed } from "../protocol/stubs";

const DEMO_CHANNEL = "demo-note";
const DEMO_EVENT = "note-updated";
const MAX_NOTE_LENGTH = 4_000;

export function demoRoutes(): Hono<RelayEnv> {
  const demo = new Hono<RelayEnv>();

  demo.use("*", async (c, next) => {
    if (!c.var.config.demoEnabled) throw new ApiError(404, "not_found", "No such endpoint. See README.md for the API.");
    await next();
  });

  demo.get("/", (c) => c.env.ASSETS.fetch(new URL("/demo/", c.req.url)));

  demo.get("/state", async (c) => {
    const { lastEventId } = await channel(c.env).stats("hibernating");
    return c.json({ channel: DEMO_CHANNEL, lastEventId });
  });

  demo.post("/note", async (c) => {
    // Only application/json: a form on any site can post text/plain (or urlencoded) without a preflight.
    if (mediaTypeOf(c.req.header("Content-Type")) !== "application/json") {
      throw new ApiError(415, "unsupported_media_type", "Send Content-Type: application/json.");
    }
    const body: unknown = await c.req.json().catch(() => null);
    const text = typeof body === "object" && body !== null ? (body as { text?: unknown }).text : undefined;
    if (typeof text !== "string" || text.length > MAX_NOTE_LENGTH) {
      throw new ApiError(400, "invalid_body", `Send {"text": "..."} with at most ${MAX_NOTE_LENGTH} characters.`);
    }
    const data = parseEventData({ text, at: Date.now() }, c.var.config);
    const outcome = await channel(c.env).publish([{ data, event: DEMO_EVENT }]);
    return c.json({ channel: DEMO_CHANNEL, id: outcome.status === "key-conflict" ? null : outcome.ids[0] }, 201);
  });

  return demo;
}

function channel(env: Env): DurableObjectStub<ChannelObject> {
  return objectNamed(env.CHANNELS, DEMO_CHANNEL);
}
