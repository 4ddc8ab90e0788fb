/**
 * Structured logs: one JSON object per line, which Workers Logs indexes
 * field by field (query `channel = "orders"` or `requestId = "…"` in the
 * dashboard). Every line about a channel carries `channel`; every line
 * written while serving a request carries `requestId`.
 *
 * No secret may reach a log: fields whose name says they hold one (token,
 * secret, authorization, cookie, password) are replaced by "[redacted]",
 * as a last guard; callers must not pass secret values in the first place.
 */

export type LogLevel = "debug" | "info" | "warn" | "error";

export interface LogFields {
  readonly channel?: string | undefined;
  readonly requestId?: string | undefined;
  readonly [field: string]: unknown;
}

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger whose every line also carries `fields` (e.g. the channel, the request id). */
  with(fields: LogFields): Logger;
}

const SECRET_FIELD = /token|secret|authorization|cookie|password/i;
const REDACTED = "[redacted]";

/** The JSON line for one log call (exported for tests). */
export function formatLogLine(level: LogLevel, msg: string, fields: LogFields): string {
  const line: Record<string, unknown> = { level, msg };
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined || key === "level" || key === "msg") continue;
    line[key] = SECRET_FIELD.test(key) ? REDACTED : value instanceof Error ? describeError(value) : value;
  }
  return JSON.stringify(line);
}

function createLogger(base: LogFields = {}): Logger {
  const write = (level: LogLevel, msg: string, fields: LogFields = {}) => {
    const line = formatLogLine(level, msg, { ...base, ...fields });
    if (level === "error") console.error(line);
    else if (level === "warn") console.warn(line);
    else if (level === "debug") console.debug(line);
    else console.log(line);
  };
  return {
    debug: (msg, fields) => write("debug", msg, fields),
    info: (msg, fields) => write("info", msg, fields),
    warn: (msg, fields) => write("warn", msg, fields),
    error: (msg, fields) => write("error", msg, fields),
    with: (fields) => createLogger({ ...base, ...fields }),
  };
}

/** The root logger; derive per-channel or per-request loggers with `log.with({...})`. */
export const log: Logger = createLogger();

function describeError(error: Error): Record<string, unknown> {
  return { name: error.name, message: error.message, stack: error.stack };
}
