/**
 * Redis Stream ingestion state of one channel: its stream key, its cursor
 * (id of the last entry turned into events), the outcome of the last poll,
 * and the back-off after failures.
 *
 * The cursor lives in the channel object's SQLite storage and is written in
 * the same transaction as the events an entry produced (see
 * RedisPoller.ingest in poller.ts), so after a restart, eviction or redeploy
 * no entry is lost or repeated. Nothing is stored before the first poll, and
 * a cursor that never passed an entry is forgotten a while after the last
 * subscriber left (RedisPoller.idle): a made-up name leaves nothing behind.
 */
import { isInternalChannel } from "../channel/internal-channels";
import type { RedisConfig } from "../config";
import { type Logger, log } from "../log";
import { assertFrameSize, type EventLimits, EventRefused, parseEventData, parseEventName } from "../events/event-rules";
import type { EventInput } from "../events/events";
import { isWellFormedText, toWellFormedText } from "../sse/codec";
import { STREAM_START, type StreamEntry } from "./stream-reader";
import { tableExists } from "../channel/schema";

export interface PollOutcome {
  /** ISO time the poll finished. */
  readonly at: string;
  readonly ok: boolean;
  /** Entries read (including skipped ones) on success. */
  readonly entries?: number;
  readonly error?: string;
}

export interface RedisStatus {
  readonly enabled: true;
  readonly stream: string | null;
  readonly cursor: string | null;
  readonly polling: boolean;
  readonly consecutiveFailures: number;
  readonly lastPoll: PollOutcome | null;
}

/** An entry turned into an event, or the reason it was skipped. */
export type EntryResult = { readonly event: EventInput } | { readonly skipped: string };

const MAX_BACKOFF_MS = 30_000;

export class RedisIngestState {
  private failures = 0;
  private last: PollOutcome | null = null;
  /** True while an alarm is scheduled or running. */
  polling = false;

  constructor(
    private readonly sql: SqlStorage,
    private readonly config: RedisConfig,
    /** The channel this object is (its name, src/objects/channel-object.ts). */
    private readonly channel: string,
  ) {}

  /** The Redis stream this channel reads; null when REDIS_CHANNEL_PREFIXES does not poll it. */
  get streamKey(): string | null {
    return this.isPolled ? this.config.streamPrefix + this.channel : null;
  }

  /** Whether this channel is one that REDIS_CHANNEL_PREFIXES lets poll (`*` is the prefix ""). */
  get isPolled(): boolean {
    if (isInternalChannel(this.channel)) return false; // even with REDIS_CHANNEL_PREFIXES=*
    return this.config.channelPrefixes.some((prefix) => this.channel.startsWith(prefix));
  }

  /**
   * Last entry id consumed from the current stream key; null before the
   * first poll, and after REDIS_STREAM_PREFIX changed (a cursor of another
   * stream means nothing for this one).
   */
  get cursor(): string | null {
    return this.read("cursor_stream") === this.streamKey ? this.read("cursor") : null;
  }

  /** Call inside the transaction that stores the events read up to `id`. */
  setCursor(id: string): void {
    this.sql.exec("CREATE TABLE IF NOT EXISTS redis_source (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
    this.write("cursor", id);
    const key = this.streamKey;
    if (key !== null) this.write("cursor_stream", key);
  }

  /** When this channel forgets a cursor that never passed an entry (RedisPoller.idle); null: not planned. */
  get forgetAt(): number | null {
    const value = this.read("forget_at");
    return value === null ? null : Number(value);
  }

  set forgetAt(at: number | null) {
    if (at === null) {
      if (tableExists(this.sql, "redis_source")) this.sql.exec("DELETE FROM redis_source WHERE key = 'forget_at'");
    } else {
      this.write("forget_at", String(at));
    }
  }

  /** Drops everything this channel stored about its stream: the next poll is a first poll again. */
  forget(): void {
    this.sql.exec("DROP TABLE IF EXISTS redis_source");
  }

  /** Where a first poll starts when REDIS_START=beginning. */
  get startsAtBeginning(): boolean {
    return this.config.startFrom === "beginning";
  }

  get initialCursor(): string {
    return STREAM_START;
  }

  recordSuccess(entries: number): void {
    this.failures = 0;
    this.last = { at: new Date().toISOString(), ok: true, entries };
  }

  recordFailure(error: unknown): void {
    this.failures += 1;
    this.last = { at: new Date().toISOString(), ok: false, error: describeError(error) };
  }

  /** Delay before the next poll: at once while a backlog drains, back-off with jitter after failures. */
  nextDelayMs(lastBatchWasFull: boolean): number {
    if (this.failures > 0) {
      const base = Math.min(this.config.pollMs * 2 ** Math.min(this.failures, 10), MAX_BACKOFF_MS);
      return Math.round(base * (0.5 + Math.random() * 0.5));
    }
    return lastBatchWasFull ? 0 : this.config.pollMs;
  }

  status(): RedisStatus {
    return {
      enabled: true,
      stream: this.streamKey,
      cursor: this.cursor,
      polling: this.polling,
      consecutiveFailures: this.failures,
      lastPoll: this.last,
    };
  }

  private read(key: string): string | null {
    if (!tableExists(this.sql, "redis_source")) return null;
    const row = this.sql.exec<{ value: string }>("SELECT value FROM redis_source WHERE key = ?", key).toArray()[0];
    return row?.value ?? null;
  }

  private write(key: string, value: string): void {
    this.sql.exec(
      "INSERT INTO redis_source (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      key,
      value,
    );
  }
}

/**
 * A stream entry becomes an event exactly like an HTTP publish: field
 * `data` is the data, optional field `event` the name, same validation and
 * size limits. What a publish would refuse is skipped here (nobody to answer),
 * except ill-formed Unicode: a lone surrogate becomes U+FFFD, with a log line,
 * so the event reads the same live and replayed.
 */
export function entryToEvent(entry: StreamEntry, limits: EventLimits, logger: Logger = log): EntryResult {
  const raw = entry.fields.get("data");
  if (raw === undefined) return { skipped: 'no "data" field' };
  const rawName = entry.fields.get("event");
  const data = wellFormed(raw, entry.id, "data", logger);
  const name = rawName === undefined ? undefined : wellFormed(rawName, entry.id, "event", logger);
  try {
    const event = parseEventName(name);
    const checked = parseEventData(data, limits);
    return { event: assertFrameSize(event === undefined ? { data: checked } : { data: checked, event }, limits) };
  } catch (error) {
    if (error instanceof EventRefused) return { skipped: error.message };
    throw error;
  }
}

function wellFormed(text: string, entry: string, field: string, logger: Logger): string {
  if (isWellFormedText(text)) return text;
  logger.warn("redis entry repaired", { entry, field, reason: "lone surrogates became U+FFFD" });
  return toWellFormedText(text);
}

function describeError(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  // Upstash errors echo the command; keep the log line short and free of payloads.
  return text.split(", command was:")[0]!.slice(0, 300);
}
