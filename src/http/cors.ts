/**
 * CORS policy from ALLOWED_ORIGINS, on top of hono's cors middleware.
 *
 * Entries are exact origins, `*`, or wildcard-subdomain patterns such as
 * `https://*.example.com` (matches `https://a.example.com`, not
 * `https://example.com`). With credentials on, `*` is never answered and
 * never allowed (config validation refuses it): the request's origin is
 * echoed only when it is listed or matches a pattern, and
 * `Access-Control-Allow-Credentials` goes only with an allowed origin (hono
 * sends it on every answer).
 */
import type { MiddlewareHandler } from "hono";
import { cors } from "hono/cors";

export interface CorsPolicy {
  readonly allowedOrigins: readonly string[];
  readonly allowCredentials: boolean;
  /** Response headers a page may read besides the relay's usual ones. */
  readonly exposeHeaders?: readonly string[];
}

/** Returns the Access-Control-Allow-Origin value for `origin`, or null to refuse it. */
export function createOriginMatcher(policy: CorsPolicy): (origin: string) => string | null {
  const anyOrigin = policy.allowedOrigins.includes("*");
  const exact = new Set(policy.allowedOrigins.filter((entry) => !entry.includes("*")));
  const patterns = policy.allowedOrigins.filter((entry) => entry !== "*" && entry.includes("*.")).map(wildcardToRegExp);

  return (origin) => {
    // Config validation refuses "*" with credentials; never answer "*" with them all the same.
    if (anyOrigin && !policy.allowCredentials) return "*";
    if (!origin) return null;
    if (exact.has(origin) || patterns.some((pattern) => pattern.test(origin))) return origin;
    return null;
  };
}

export function corsMiddleware(policy: CorsPolicy): MiddlewareHandler {
  const matchOrigin = createOriginMatcher(policy);
  const inner = cors({
    origin: (origin) => matchOrigin(origin),
    allowMethods: ["GET", "POST", "OPTIONS"],
    // Last-Event-ID: a fetch-based client resuming a stream sets it itself.
    allowHeaders: ["Authorization", "Content-Type", "Last-Event-ID", "Idempotency-Key"],
    exposeHeaders: [
      "Content-Type",
      "Idempotent-Replayed",
      "Retry-After",
      "X-Request-Id",
      ...(policy.exposeHeaders ?? []),
    ],
    credentials: policy.allowCredentials,
    maxAge: 86_400,
  });
  if (!policy.allowCredentials) return inner;
  return async (c, next) => {
    const answered = await inner(c, next);
    // A preflight is answered by the middleware itself (and hono copies c.res's headers into it).
    for (const response of answered instanceof Response ? [answered, c.res] : [c.res]) {
      if (!response.headers.has("Access-Control-Allow-Origin"))
        response.headers.delete("Access-Control-Allow-Credentials");
    }
    return answered;
  };
}

/** `https://*.example.com` → /^https:\/\/[^.\/]+(\.[^.\/]+)*\.example\.com$/ (one or more labels). */
function wildcardToRegExp(pattern: string): RegExp {
  const [scheme, rest] = pattern.split("://*.") as [string, string];
  const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
  return new RegExp(`^${escapeRegExp(scheme)}://[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)*\\.${escapeRegExp(rest)}$`, "i");
}
