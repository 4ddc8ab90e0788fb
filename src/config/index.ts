/**
 * Relay configuration: wrangler `[vars]` and secrets, validated once into a
 * typed object. A bad value throws a ConfigError that names the variable, so
 * a misconfigured deployment says exactly what to fix.
 *
 * The table of settings is settings.ts; parse.ts assembles the typed config.
 * Read it one way: Worker routes through `c.var.config` (src/http/context.ts),
 * Durable Objects through configFromEnv. Imports no feature module.
 */
import { oncePer } from "../once-per.ts";
import { parseConfig, type RelayConfig } from "./parse.ts";
import type { RawConfig } from "./settings.ts";

export { ConfigError, SECRET_SETTINGS } from "./errors.ts";
export type {
  JwtKeySetting,
  MercureConfig,
  MercureMode,
  PresenceSettings,
  RedisConfig,
  RelayConfig,
  ReplaySettings,
} from "./parse.ts";
export { parseConfig } from "./parse.ts";
export type { MercureAlgorithm, RawConfig } from "./settings.ts";

/** parseConfig, memoized per env object: the platform reuses env across requests. */
export const configFromEnv: (env: RawConfig) => RelayConfig = oncePer(parseConfig);
