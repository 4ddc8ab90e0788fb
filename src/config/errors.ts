/**
 * ConfigError and secret redaction. Which settings are secrets is the table's
 * `secret` kind (settings.ts): their values never appear in an error message,
 * an answer or a log line.
 */
import { type DeprecatedName, type RawConfig, SETTINGS, type SettingName } from "./settings.ts";

/** Settings whose values are secrets (set with `wrangler secret put`). */
export const SECRET_SETTINGS = (Object.keys(SETTINGS) as SettingName[]).filter((name) => SETTINGS[name].secret);

function isSecretSetting(variable: SettingName | DeprecatedName): boolean {
  return (SECRET_SETTINGS as readonly string[]).includes(variable);
}

/**
 * A bad setting: names the variable and the problem. The offending value (`got`) is shown only
 * for settings that are not secret, so a message can be logged and answered as it is.
 */
export class ConfigError extends Error {
  readonly variable: SettingName | DeprecatedName;
  constructor(variable: SettingName | DeprecatedName, problem: string, got?: string) {
    super(`${variable} ${problem}${describeValue(variable, got)}`);
    this.name = "ConfigError";
    this.variable = variable;
  }
}

function describeValue(variable: SettingName | DeprecatedName, got: string | undefined): string {
  if (got === undefined) return "";
  return isSecretSetting(variable) ? " (the value is a secret and is not shown)" : `, got ${JSON.stringify(got)}`;
}

const REDACTED = "[secret]";

/** Belt and braces: replaces every secret's value (its list entries, a URL's password) a message might contain. */
export function redactSecrets(message: string, raw: RawConfig): string {
  const values = new Set<string>();
  for (const name of SECRET_SETTINGS) {
    const value = raw[name];
    if (value === undefined) continue;
    const password = /^[a-z][a-z0-9+.-]*:\/\/[^/@]*?:([^/@]*)@/i.exec(value.trim())?.[1];
    for (const part of [value, value.trim(), ...value.split(","), password ?? ""]) {
      const trimmed = part.trim();
      if (trimmed.length >= 4) values.add(trimmed);
    }
  }
  let redacted = message;
  for (const value of [...values].sort((a, b) => b.length - a.length)) redacted = redacted.split(value).join(REDACTED);
  return redacted;
}
