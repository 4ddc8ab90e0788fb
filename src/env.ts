import type { RawConfig } from "./config";

/**
 * Bindings and variables the Worker and the channel objects receive.
 * Cloudflare.Env is generated from wrangler.toml by `npm run types` into
 * worker-configuration.d.ts (`npm test` fails if it drifts); RawConfig adds
 * the secrets and optional settings, which wrangler.toml does not list.
 */
export type Env = Cloudflare.Env & RawConfig;
