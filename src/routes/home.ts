/**
 * `/`, the first URL a newcomer opens: what this is and where to go next
 * (the demo when it is on, the API description, health), as a small HTML
 * page for browsers and as JSON for everything else. `/favicon.ico` answers
 * 204, so browsers stop asking and no error is logged.
 */
import type { Context } from "hono";
import type { RelayContext } from "../http/context";

const DESCRIPTION =
  "Server-sent events relay: backends publish over HTTP (or Redis), browsers subscribe with EventSource.";

export function home(c: RelayContext): Response {
  const { demoEnabled } = c.var.config;
  const links = {
    api: "/openapi.json",
    health: "/healthz",
    subscribe: "/v1/channels/{channel}/events",
    client: "/client.js",
    demo: demoEnabled ? "/demo" : null,
  };
  if (!(c.req.header("Accept") ?? "").includes("text/html")) {
    return c.json({ name: "edge-sse-relay", description: DESCRIPTION, links });
  }
  const demo = demoEnabled
    ? '<li><a href="/demo">/demo</a>: the live demo, a note shared between windows</li>'
    : "<li>The demo (/demo) is off: it runs with <code>DEMO_ENABLED=true</code>, as <code>npm run dev</code> sets.</li>";
  return c.html(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>edge-sse-relay</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font: 16px/1.5 system-ui, sans-serif; max-width: 42rem; margin: 2rem auto; padding: 0 1rem">
<h1>edge-sse-relay</h1>
<p>${DESCRIPTION}</p>
<ul>
${demo}
<li><a href="/openapi.json">/openapi.json</a>: the HTTP API (OpenAPI 3.1)</li>
<li><a href="/healthz">/healthz</a>: health (500 names a misconfigured variable)</li>
<li><a href="/client.js">/client.js</a>: the browser client module</li>
<li>Subscribe: <code>curl -N ${origin(c)}/v1/channels/demo/events</code></li>
</ul>
</body></html>
`);
}

export function favicon(): Response {
  return new Response(null, { status: 204, headers: { "Cache-Control": "public, max-age=86400" } });
}

function origin(c: Context): string {
  return new URL(c.req.url).origin;
}
