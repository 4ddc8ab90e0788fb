/**
 * Private channels: a channel whose name starts with one of
 * PRIVATE_CHANNEL_PREFIXES can only be read with a subscriber JWT whose
 * `channels` claim covers it. EventSource cannot set headers, so the token
 * is taken, in this order, from `Authorization: Bearer`, the cookie
 * SUBSCRIBE_TOKEN_COOKIE, or the `token` query parameter (which ends up in
 * access logs: prefer the cookie). An Authorization header wins (as in RFC
 * 6750 and Mercure): when it is malformed or its token fails, the 401 says so,
 * so it never silently hides a good cookie or `?token=`.
 *
 * A cookie rides along on requests other sites make, so a stream authorized
 * by the cookie alone must come from the relay's own origin or one in
 * ALLOWED_ORIGINS; without an Origin header, a browser's `Sec-Fetch-Site:
 * cross-site` on a request that is not CORS (an `<img>` or `<script>`
 * pointed at the stream) is refused too. Refused before the stream counts
 * against the visitor's MAX_STREAMS_PER_CLIENT share.
 *
 * Prefixes are matched without regard to case (`Private-a` is private too):
 * channel names are case-sensitive, but a name that reads as private to a
 * human must not be public. Grants stay exact.
 */
import type { Context } from "hono";
import { getCookie } from "hono/cookie";
import type { RelayConfig } from "../config";
import { oncePer } from "../once-per";
import { createOriginMatcher } from "./cors";
import { ApiError } from "./errors";
import { grantCovers, verifyChannelToken, type ChannelGrant } from "./tokens";

function isPrivateChannel(channel: string, config: Pick<RelayConfig, "privateChannelPrefixes">): boolean {
  const name = channel.toLowerCase();
  return config.privateChannelPrefixes.some((prefix) => name.startsWith(prefix.toLowerCase()));
}

const UNAUTHORIZED_HEADERS = { "WWW-Authenticate": 'Bearer realm="sse-relay"' };

/** Who may read a private channel, and until when. */
export interface SubscriberGrant {
  /** When the token expires (ms since epoch): the stream ends then. */
  readonly expiresAt: number;
  /** The token's subject, if it names one. */
  readonly subject: string | null;
}

/**
 * For a private channel, verifies the subscriber's token and returns its
 * expiry and subject; for a public one, returns undefined.
 */
export async function authorizeSubscriber(
  c: Context,
  channel: string,
  config: RelayConfig,
): Promise<SubscriberGrant | undefined> {
  if (!isPrivateChannel(channel, config)) return undefined;
  if (config.subscribeJwtSecret === null) {
    throw new ApiError(
      503,
      "private_channels_disabled",
      "Private channels need SUBSCRIBE_JWT_SECRET to be configured on this relay.",
    );
  }
  const found = subscriberToken(c, config.subscribeTokenCookie);
  if (!found) {
    throw new ApiError(
      401,
      "unauthorized",
      `Channel "${channel}" is private: send a subscriber token (cookie ${config.subscribeTokenCookie}, ?token=, or Authorization: Bearer).`,
      UNAUTHORIZED_HEADERS,
    );
  }
  if (found.fromCookie) refuseCrossSite(c.req.raw, config);
  let grant: ChannelGrant;
  try {
    grant = await verifyChannelToken(found.token, config.subscribeJwtSecret, "subscribe");
  } catch (error) {
    // Say where the refused token came from: a stale header must not pass for a bad cookie.
    if (error instanceof ApiError)
      throw new ApiError(error.status, error.code, `${error.message} ${found.source}`, error.headers);
    throw error;
  }
  if (!grantCovers(grant, channel)) {
    throw new ApiError(403, "forbidden", `This subscriber token does not grant channel "${channel}". ${found.source}`);
  }
  return { expiresAt: grant.expiresAt, subject: grant.subject };
}

const HEADER_WINS = "Authorization header, which takes precedence over the cookie and ?token=";

/** The token and a sentence naming where it came from; the Authorization header, when present, wins. */
function subscriberToken(
  c: Context,
  cookieName: string,
): { token: string; source: string; fromCookie?: true } | undefined {
  const authorization = c.req.header("Authorization");
  if (authorization !== undefined) {
    const bearer = authorization.match(/^Bearer +(\S+)$/i)?.[1];
    if (bearer === undefined) {
      throw new ApiError(
        401,
        "unauthorized",
        `Malformed Authorization header: expected Authorization: Bearer <subscriber token>. The ${HEADER_WINS}: fix or remove it.`,
        UNAUTHORIZED_HEADERS,
      );
    }
    return { token: bearer, source: `(The token came from the ${HEADER_WINS}.)` };
  }
  const cookie = getCookie(c, cookieName);
  if (cookie) return { token: cookie, source: `(The token came from the cookie ${cookieName}.)`, fromCookie: true };
  const query = c.req.query("token");
  if (query) return { token: query, source: "(The token came from ?token=.)" };
  return undefined;
}

const originMatcher = oncePer((config: RelayConfig) =>
  createOriginMatcher({ allowedOrigins: config.allowedOrigins, allowCredentials: true }),
);

/** A cookie-authorized stream asked for by another site: refused (see the top of this file). */
function refuseCrossSite(request: Request, config: RelayConfig): void {
  const origin = request.headers.get("Origin");
  let allowed: boolean;
  if (origin !== null) {
    allowed = origin === new URL(request.url).origin || originMatcher(config)(origin) !== null;
  } else {
    const site = request.headers.get("Sec-Fetch-Site");
    allowed = site !== "cross-site" || request.headers.get("Sec-Fetch-Mode") === "cors";
  }
  if (!allowed) {
    throw new ApiError(
      403,
      "cross_site",
      `A stream authorized by the cookie ${config.subscribeTokenCookie} must come from this relay's origin or one in ALLOWED_ORIGINS${origin === null ? "" : `; got ${JSON.stringify(origin.slice(0, 100))}`}.`,
    );
  }
}
