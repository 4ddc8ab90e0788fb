/**
 * Response headers for an event stream. `no-transform` keeps Cloudflare and
 * other proxies from compressing or buffering it; `X-Accel-Buffering: no`
 * does the same for nginx in front of a relay.
 */
export const SSE_HEADERS: Readonly<Record<string, string>> = {
  "Content-Type": "text/event-stream; charset=utf-8",
  "Cache-Control": "no-cache, no-transform",
  "X-Accel-Buffering": "no",
};
