/**
 * `X-Content-Type-Options: nosniff` on every answer, so a browser never
 * guesses a type other than the one the relay declares (a JSON error or an
 * event stream carrying publisher data must never be run as a script or
 * rendered as HTML). A few lines rather than hono's secure-headers, whose
 * defaults (Cross-Origin-Resource-Policy and others) are for pages, not for
 * an API read cross-origin.
 */
import type { MiddlewareHandler } from "hono";

const NO_SNIFF: readonly [string, string] = ["X-Content-Type-Options", "nosniff"];

export function noSniff(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    try {
      c.res.headers.set(...NO_SNIFF);
    } catch {
      // Headers of a fetched response (an asset) are immutable: answer a copy.
      const copy = new Response(c.res.body, c.res);
      copy.headers.set(...NO_SNIFF);
      c.res = copy;
    }
  };
}
