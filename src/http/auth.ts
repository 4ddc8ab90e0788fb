/**
 * Publisher authentication, on hono's bearer-auth: a static token from
 * PUBLISH_TOKENS (several, so a token can be rotated without downtime,
 * compared in constant time), or a publisher JWT signed with
 * PUBLISH_JWT_SECRET whose `channels` claim limits where it may publish.
 * With neither configured every publish answers 503: a relay that forgot
 * its secret fails closed, never open.
 */
import type { Context, MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { timingSafeEqual } from "hono/utils/buffer";
import { ApiError, errorResponse } from "./errors";
import { grantCovers, looksLikeJwt, verifyChannelToken, type ChannelGrant } from "./tokens";

/** What an authenticated publisher may do: everything (static token) or the channels of its JWT. */
export type PublisherGrant = { readonly kind: "static" } | { readonly kind: "scoped"; readonly grant: ChannelGrant };

export interface PublisherAuthConfig {
  readonly publishTokens: readonly string[];
  readonly publishJwtSecret: string | null;
}

export function publisherAuth(config: PublisherAuthConfig): MiddlewareHandler {
  if (config.publishTokens.length === 0 && config.publishJwtSecret === null) {
    return async () =>
      errorResponse(
        503,
        "publishing_disabled",
        "Publishing is not configured on this relay: set the PUBLISH_TOKENS secret (wrangler secret put PUBLISH_TOKENS).",
      );
  }
  const unauthorized = (message: string) => () =>
    errorResponse(401, "unauthorized", message, { "WWW-Authenticate": 'Bearer realm="sse-relay"' });
  return bearerAuth({
    realm: "sse-relay",
    // The routes' variable `publisher` (src/http/context.ts); typed here without importing the routes' env.
    verifyToken: async (token: string, c: Context<{ Variables: { publisher: PublisherGrant } }>) => {
      const grant = await identify(token, config);
      if (grant) c.set("publisher", grant);
      return grant !== null;
    },
    noAuthenticationHeader: {
      message: unauthorized("Missing Authorization header: send Authorization: Bearer <publish token>."),
    },
    // A malformed header is still a failed login (401), not bad input about the event.
    invalidAuthenticationHeader: {
      message: unauthorized("Malformed Authorization header: expected Authorization: Bearer <publish token>."),
    },
    invalidToken: {
      message: unauthorized("The publish token is not valid (or has expired)."),
    },
  });
}

/** Refuses (403) a publisher whose scoped token does not cover every channel it writes to. */
export function assertMayPublish(publisher: PublisherGrant | undefined, channels: Iterable<string>): void {
  if (!publisher) throw new ApiError(401, "unauthorized", "Publishing needs a publish token.");
  if (publisher.kind === "static") return;
  for (const channel of channels) {
    if (!grantCovers(publisher.grant, channel)) {
      throw new ApiError(403, "forbidden", `This publish token may not publish to channel "${channel}".`);
    }
  }
}

async function identify(token: string, config: PublisherAuthConfig): Promise<PublisherGrant | null> {
  // Compare against every static token, so timing does not tell which one (or whether any) matched.
  let matched = false;
  for (const known of config.publishTokens) {
    if (await timingSafeEqual(known, token)) matched = true;
  }
  if (matched) return { kind: "static" };
  if (config.publishJwtSecret !== null && looksLikeJwt(token)) {
    try {
      return { kind: "scoped", grant: await verifyChannelToken(token, config.publishJwtSecret, "publish") };
    } catch {
      return null;
    }
  }
  return null;
}
