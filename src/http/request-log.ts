/**
 * A request id for every request, so its log lines can be found together:
 * the caller's `X-Request-Id` when it sends a well-formed one (a backend can
 * tie its own logs to ours), else Cloudflare's `cf-ray` (what the dashboard
 * and Cloudflare support know the request by), else a random UUID. It is
 * echoed in the `X-Request-Id` response header and kept in `c.var.requestId`;
 * `c.var.log` is a logger that writes it on every line.
 */
import type { MiddlewareHandler } from "hono";
import { requestId } from "hono/request-id";
import { type Logger, log } from "../log";

const REQUEST_ID_HEADER = "X-Request-Id";

export interface RequestLogVariables {
  requestId: string;
  log: Logger;
}

export function requestLog(): MiddlewareHandler<{ Variables: RequestLogVariables }> {
  const assignId = requestId({
    headerName: REQUEST_ID_HEADER,
    generator: (c) => c.req.header("cf-ray") ?? crypto.randomUUID(),
  });
  return (c, next) =>
    assignId(c, async () => {
      c.set("log", log.with({ requestId: c.var.requestId }));
      await next();
      // Responses built directly (errors, streams, assets) skip hono's prepared headers: set it on them too.
      if (c.res.headers.get(REQUEST_ID_HEADER) === c.var.requestId) return;
      try {
        c.res.headers.set(REQUEST_ID_HEADER, c.var.requestId);
      } catch {
        c.res = new Response(c.res.body, c.res); // immutable headers (a fetched response)
        c.res.headers.set(REQUEST_ID_HEADER, c.var.requestId);
      }
    });
}
