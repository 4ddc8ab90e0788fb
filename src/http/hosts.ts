/**
 * Host allow-list: with RELAY_HOSTS set, only the hostnames it lists (its
 * shard patterns expanded: sse0.example.com … with SHARDS=8) are served; a
 * request for any other Host (a stray DNS record, a domain-fronting attempt)
 * is refused with 421 before anything else runs. Unset: every host is
 * served, as in local development on localhost and *.localhost.
 */
import type { Context, MiddlewareHandler } from "hono";
import { errorResponse } from "./errors";

function isServedHost(hostname: string, relayHosts: readonly string[]): boolean {
  if (relayHosts.length === 0) return true;
  return relayHosts.includes(hostname.toLowerCase().replace(/\.$/, ""));
}

export function hostGuard(relayHosts: (c: Context) => readonly string[]): MiddlewareHandler {
  return async (c, next) => {
    const { hostname } = new URL(c.req.url);
    if (!isServedHost(hostname, relayHosts(c))) {
      return errorResponse(421, "misdirected_request", "This relay does not serve that host name.");
    }
    await next();
  };
}
