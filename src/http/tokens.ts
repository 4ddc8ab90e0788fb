/**
 * Signed tokens (HS256 JWTs, verified with hono's jwt helpers) that grant
 * access to channels:
 * - subscriber tokens: `{"scope": "subscribe", "channels": [...], "exp": …}`
 *   let a browser read private channels;
 * - publisher tokens: `{"scope": "publish", "channels": [...], "exp": …}`
 *   let a backend publish to some channels only.
 * `channels` entries are exact names or prefixes that end in a delimiter
 * (`.`, `_`, `:` or `-`) and then `*`, such as `"private-user-42-*"` (`"*"`
 * alone is every channel): `"private-user-4*"` is refused, as it would also
 * open `private-user-42`. `exp` is required, and the algorithm is pinned to
 * HS256, so `alg: none` and algorithm swaps are refused. The `scope` claim
 * keeps a subscriber token from ever working as a publisher token, even if
 * both secrets were set to the same value.
 */
import { verify } from "hono/jwt";
import { JwtTokenExpired } from "hono/utils/jwt/types";
import { ApiError } from "./errors";

export type TokenScope = "subscribe" | "publish";

export interface ChannelGrant {
  readonly scope: TokenScope;
  /** Exact channel names, `prefix-*` patterns (the prefix ends in a delimiter) or `*`. */
  readonly channels: readonly string[];
  /** Expiry, in milliseconds since the epoch. */
  readonly expiresAt: number;
  /** The token's `sub` claim, if any: whom it was issued to (a subscriber's share is counted by it). */
  readonly subject: string | null;
}

/** An exact channel name, `*`, or a prefix ending in a delimiter followed by `*`. */
const GRANT_ENTRY = /^(\*|[A-Za-z0-9._:-]+|[A-Za-z0-9._:-]*[._:-]\*)$/;

/** Verifies a token of the given scope; every failure is a 401 that says why without echoing the token. */
export async function verifyChannelToken(token: string, secret: string, scope: TokenScope): Promise<ChannelGrant> {
  let payload: Record<string, unknown>;
  try {
    payload = (await verify(token, secret, "HS256")) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof JwtTokenExpired)
      throw new ApiError(401, "token_expired", "The token has expired; get a fresh one.");
    throw new ApiError(401, "invalid_token", "The token is not valid (malformed, wrong signature or wrong algorithm).");
  }
  if (payload.scope !== scope) {
    throw new ApiError(
      401,
      "invalid_token",
      `The token is not a ${scope} token (its "scope" claim must be "${scope}").`,
    );
  }
  if (typeof payload.exp !== "number" || !Number.isFinite(payload.exp)) {
    throw new ApiError(401, "invalid_token", 'The token has no "exp" claim; tokens must expire.');
  }
  const channels = payload.channels;
  if (
    !Array.isArray(channels) ||
    channels.length === 0 ||
    !channels.every((entry) => typeof entry === "string" && GRANT_ENTRY.test(entry))
  ) {
    throw new ApiError(
      401,
      "invalid_token",
      'The token\'s "channels" claim must list channel names or prefix patterns whose * follows a delimiter . _ : or - (e.g. "orders-*"; "*" alone is every channel).',
    );
  }
  const subject = typeof payload.sub === "string" && payload.sub !== "" ? payload.sub : null;
  return { scope, channels: channels as string[], expiresAt: payload.exp * 1000, subject };
}

/** True if one of the grant's entries names the channel or is a prefix pattern that covers it. */
export function grantCovers(grant: Pick<ChannelGrant, "channels">, channel: string): boolean {
  return grant.channels.some((entry) =>
    entry.endsWith("*") ? channel.startsWith(entry.slice(0, -1)) : entry === channel,
  );
}

/** A JWT has three base64url parts; static publish tokens are not required to avoid dots, so this is only a hint. */
export function looksLikeJwt(token: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(token);
}
