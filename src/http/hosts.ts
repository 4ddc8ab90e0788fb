/**
 * Host allow-list: with RELAY_HOSTS set, only the hostnames it lists (its
 * shard patterns expanded: sse0.example.com … with SHARDS=8) are served; a
 * request for any other Host (a stray DNS record, a domain-fronting attempt)
 * is refused with 421 before anything else runs. Unset: every host is
 * served, as in local development on localhost and *.localhost.
 */
import type { MiddlewareHandler } from "hono";
import type { RelayContext, RelayEnv } from "./context";
import { HOSTNAME } from "../shard-hosts";
import { errorResponse } from "./errors";

export function isServedHost(hostname: string, relayHosts: readonly string[]): boolean {
  if (relayHosts.length === 0) return true;
  const host = hostname.toLowerCase().replace(/\.$/, "");
  // Well-formed (no empty label, no user info) and exactly one of the listed hosts (shard patterns expanded).
  if (!HOSTNAME.test(host)) return false;
  return relayHosts.includes(host);
}

/** A request's URL and Host header: no user info (`x@host`), a served host name. */
export function isServedRequest(url: URL, hostHeader: string | undefined, relayHosts: readonly string[]): boolean {
  if (relayHosts.length === 0) return true;
  if (url.username !== "" || url.password !== "") return false;
  // The Host header is only a name and a port: anything else (user info, a path) is refused.
  if (hostHeader !== undefined && !/^[A-Za-z0-9.-]+(:\d{1,5})?$/.test(hostHeader)) return false;
  return isServedHost(url.hostname, relayHosts);
}

export function hostGuard(relayHosts: (c: RelayContext) => readonly string[]): MiddlewareHandler<RelayEnv> {
  return async (c, next) => {
    if (!isServedRequest(new URL(c.req.url), c.req.header("Host"), relayHosts(c))) {
      return errorResponse(421, "misdirected_request", "This relay does not serve that host name.");
    }
    await next();
  };
}
