/**
 * Publisher authentication: a bearer token from PUBLISH_TOKENS (several so a
 * token can be rotated without downtime), compared in constant time by
 * hono's bearer-auth. With no token configured every publish answers 503:
 * a relay that forgot its secret fails closed, never open.
 */
import type { MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { errorResponse } from "./errors";

export function publisherAuth(publishTokens: readonly string[]): MiddlewareHandler {
  if (publishTokens.length === 0) {
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
    token: [...publishTokens],
    realm: "sse-relay",
    noAuthenticationHeader: {
      message: unauthorized("Missing Authorization header: send Authorization: Bearer <publish token>."),
    },
    // A malformed header is still a failed login (401), not bad input about the event.
    invalidAuthenticationHeader: {
      message: unauthorized("Malformed Authorization header: expected Authorization: Bearer <publish token>."),
    },
    invalidToken: {
      message: unauthorized("The publish token is not valid."),
    },
  });
}
