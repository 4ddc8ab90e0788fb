/**
 * The kinds of setting the table (settings.ts) is made of: how a raw string
 * from wrangler `[vars]` or a secret becomes a typed value, its default, and
 * how the generated docs describe it. A bad value throws a SettingProblem;
 * the reader (parse.ts) turns it into a ConfigError naming the setting, and
 * hides the value when the setting is a secret.
 *
 * Node scripts (the docs generator) load this file directly: no imports but
 * `.ts` ones, nothing but erasable TypeScript.
 */

/** What is wrong with one value, and the value to show (never shown for a secret). */
export class SettingProblem extends Error {
  readonly got: string | undefined;
  constructor(problem: string, got?: string) {
    super(problem);
    this.got = got;
  }
}

/** How one setting is read. `T` is its typed value; an unset setting (`undefined`) gives its default. */
export interface SettingKind<T> {
  /** For the docs: "integer 1–256", "boolean", "list"… */
  readonly kind: string;
  /** For the docs: the default as the operator writes it, or what being unset means. */
  readonly fallback: string;
  readonly secret: boolean;
  readonly parse: (value: string | undefined) => T;
}

/** A comma-separated value's entries, trimmed, empty ones dropped. */
function splitList(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
}

function isBlank(value: string | undefined): value is undefined {
  return value === undefined || value.trim() === "";
}

/** A whole number within bounds; blank gives the default. */
export function integer(
  fallback: number,
  min: number,
  max: number,
): SettingKind<number> & { min: number; max: number } {
  return {
    kind: `integer ${min}–${max}`,
    fallback: `\`${fallback}\``,
    secret: false,
    min,
    max,
    parse(value) {
      if (isBlank(value)) return fallback;
      const trimmed = value.trim();
      const number = Number(trimmed);
      if (!/^\d+$/.test(trimmed) || !Number.isSafeInteger(number) || number < min || number > max) {
        throw new SettingProblem(`must be a whole number from ${min} to ${max}`, value);
      }
      return number;
    },
  };
}

/** `true`/`false` (or `1`/`0`), any case; blank gives the default. */
export function boolean(fallback: boolean): SettingKind<boolean> {
  return {
    kind: "boolean",
    fallback: `\`${fallback}\``,
    secret: false,
    parse(value) {
      if (isBlank(value)) return fallback;
      const normalized = value.trim().toLowerCase();
      if (normalized === "true" || normalized === "1") return true;
      if (normalized === "false" || normalized === "0") return false;
      throw new SettingProblem('must be "true" or "false"', value);
    },
  };
}

/**
 * A comma-separated list, each entry checked (and normalized) by `entry`. Unset gives `unset`
 * (empty unless the setting has a default list); set but empty is the empty list.
 */
export function list(
  fallback: string,
  entry: (item: string, index: number) => string = (item) => item,
  unset: readonly string[] = [],
): SettingKind<readonly string[]> {
  return {
    kind: "list",
    fallback,
    secret: false,
    parse: (value) => (value === undefined ? [...unset] : splitList(value).map(entry)),
  };
}

/** One of a few words; blank gives the default. */
export function oneOf<const T extends string>(
  values: readonly T[],
  fallback: NoInfer<T>,
  problem: string,
  options: { lowerCase?: boolean } = {},
): SettingKind<T> {
  return {
    kind: `one of ${values.map((value) => `\`${value}\``).join(", ")}`,
    fallback: `\`${fallback}\``,
    secret: false,
    parse(value) {
      if (isBlank(value)) return fallback;
      const word = options.lowerCase ? value.trim().toLowerCase() : value.trim();
      if (!(values as readonly string[]).includes(word)) throw new SettingProblem(problem, value);
      return word as T;
    },
  };
}

/** Free text, read by `parse` (which trims, checks and defaults as the setting needs). */
export function text<T>(fallback: string, parse: (value: string | undefined) => T): SettingKind<T> {
  return { kind: "text", fallback, secret: false, parse };
}

/** A secret (`wrangler secret put`): its value is never shown in a message, an answer or a log line. */
export function secret<T>(fallback: string, parse: (value: string | undefined) => T): SettingKind<T> {
  return { kind: "secret", fallback, secret: true, parse };
}

// Entry checks shared by several settings.

/** Publish tokens travel in `Authorization: Bearer`, so they must fit RFC 6750's token68 syntax. */
export const BEARER_TOKEN = /^[A-Za-z0-9._~+/-]+=*$/;
export const BEARER_CHARACTERS = "allowed: A-Z a-z 0-9 . _ ~ + / - and trailing =";
const CHANNEL_PREFIX = /^[A-Za-z0-9._:-]+$/;
const ORIGIN_PATTERN = /^(\*|https?:\/\/(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?)$/;

export function channelPrefix(prefix: string): string {
  if (!CHANNEL_PREFIX.test(prefix)) {
    throw new SettingProblem("has an entry with characters a channel name cannot have", prefix);
  }
  return prefix;
}

/** An origin (trailing slashes dropped), `*`, or a subdomain pattern like https://*.example.com. */
export function origin(entry: string): string {
  const normalized = entry.replace(/\/+$/, "");
  if (!ORIGIN_PATTERN.test(normalized)) {
    throw new SettingProblem(
      'has an entry that is not an origin (scheme://host[:port]), "*", or a pattern like https://*.example.com',
      normalized,
    );
  }
  return normalized;
}

/** HS256 keys shorter than the hash are brute-forceable; refuse them. Blank: not set (null). */
export function hmacSecret(value: string | undefined): string | null {
  const trimmed = value?.trim() ?? "";
  if (trimmed === "") return null;
  if (trimmed.length < 32) throw new SettingProblem("must be at least 32 characters (e.g. openssl rand -base64 32)");
  return trimmed;
}

/** Trimmed text, or undefined when blank. */
export function optionalText(value: string | undefined): string | undefined {
  return value?.trim() || undefined;
}
