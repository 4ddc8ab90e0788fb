/**
 * Private channels: a channel whose name starts with one of
 * PRIVATE_CHANNEL_PREFIXES can only be read with a subscriber JWT whose
 * `channels` claim covers it. EventSource cannot set headers, so the token
 * is taken, in this order, from `Authorization: Bearer`, the cookie
 * SUBSCRIBE_TOKEN_COOKIE, or the `token` query parameter (which ends up in
 * access logs: prefer the cookie).
 */
import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import type { RelayConfig } from "../config";
import { ApiError } from "./errors";
import { grantCovers, verifyChannelToken } from "./tokens";

function isPrivateChannel(channel: string, config: Pick<RelayConfig, "privateChannelPrefixes">): boolean {
  return config.privateChannelPrefixes.some((prefix) => channel.startsWith(prefix));
}

/**
 * For a private channel, verifies the subscriber's token and returns when
 * it expires (ms since epoch); for a public one, returns undefined.
 */
export async function authorizeSubscriber(
  c: Context,
  channel: string,
  config: RelayConfig,
): Promise<number | undefined> {
  if (!isPrivateChannel(channel, config)) return undefined;
  if (config.subscribeJwtSecret === null) {
    throw new ApiError(
      503,
      "private_channels_disabled",
      "Private channels need SUBSCRIBE_JWT_SECRET to be configured on this relay.",
    );
  }
  const token = subscriberToken(c, config.subscribeTokenCookie);
  if (!token) {
    throw new ApiError(
      401,
      "unauthorized",
      `Channel "${channel}" is private: send a subscriber token (cookie ${config.subscribeTokenCookie}, ?token=, or Authorization: Bearer).`,
      { "WWW-Authenticate": 'Bearer realm="sse-relay"' },
    );
  }
  const grant = await verifyChannelToken(token, config.subscribeJwtSecret, "subscribe");
  if (!grantCovers(grant, channel)) {
    throw new ApiError(403, "forbidden", `This subscriber token does not grant channel "${channel}".`);
  }
  return grant.expiresAt;
}

function subscriberToken(c: Context, cookieName: string): string | undefined {
  const authorization = c.req.header("Authorization");
  const bearer = authorization?.match(/^Bearer +(\S+)$/i)?.[1];
  return bearer ?? (getCookie(c, cookieName) || undefined) ?? (c.req.query("token") || undefined);
}
