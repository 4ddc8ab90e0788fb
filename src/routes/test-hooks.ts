/**
 * Test-only hooks for end-to-end tests of the delivery's fault handling:
 * restart a channel's object while browsers stay connected. Served only
 * when RELAY_TEST_HOOKS=true AND the request is addressed to a loopback
 * host (localhost, *.localhost, 127.0.0.1, [::1]): a deployed Worker is
 * only ever reached under its own host names, so no setting can turn these
 * on in production.
 */
import { Hono } from "hono";
import { errorResponse } from "../error-response";
import type { RelayEnv } from "../http/context";
import { objectNamed } from "../protocol/stubs";

const LOOPBACK = /^(localhost|[a-z0-9-]+\.localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/i;

export function testHookRoutes(): Hono<RelayEnv> {
  const hooks = new Hono<RelayEnv>();

  hooks.use("*", async (c, next) => {
    const host = new URL(c.req.url).host;
    if (!c.var.config.testHooks || !LOOPBACK.test(host)) {
      return errorResponse(404, "not_found", "No such endpoint. See README.md for the API.");
    }
    await next();
  });

  // Resets the channel's object as a crash or redeploy would; its bridge sockets close with it.
  hooks.post("/channels/:channel/restart", async (c) => {
    const channel = c.req.param("channel");
    const stub = objectNamed(c.env.CHANNELS, channel);
    await stub.restartForTesting().catch(() => {});
    return c.json({ restarted: channel });
  });

  return hooks;
}
