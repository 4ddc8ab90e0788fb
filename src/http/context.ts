/**
 * The one Hono environment of every Worker route: the platform's bindings
 * and the request's typed variables. Configuration is read one way: the
 * first middleware of the app (src/routes/app.ts) validates it once per env and
 * sets `c.var.config`; routes read it there, never from `c.env`.
 */
import type { Context } from "hono";
import type { MercureConfig, RelayConfig } from "../config";
import type { Env } from "../env";
import type { PublisherGrant } from "./auth";
import type { RequestLogVariables } from "./request-log";

export type RelayEnv = {
  Bindings: Env;
  Variables: RequestLogVariables & {
    /** The validated configuration, set before any route runs. */
    config: RelayConfig;
    /** Who publishes, set by publisherAuth on the routes that require a publisher. */
    publisher: PublisherGrant;
    /** The Mercure hub's settings, set on its routes while the hub is on. */
    hub: MercureConfig;
  };
};

export type RelayContext = Context<RelayEnv>;
