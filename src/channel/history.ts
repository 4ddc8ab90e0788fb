/**
 * A channel's durable event log in its Durable Object's SQLite storage.
 *
 * Ids come from a stored sequence (never reused, even after pruning), so a
 * Last-Event-ID from a browser always means the same event. All calls are
 * synchronous: SQLite in a Durable Object runs in-process, which is what
 * lets the channel read history and register a subscriber with no event
 * slipping in between.
 *
 * Reading a channel that was never written to creates nothing: the tables
 * appear with the first event, so anonymous subscribers leave no storage.
 */
import { tableExists } from "./schema";

export interface StoredEvent {
  readonly id: number;
  readonly event: string | null;
  readonly data: string;
}

export interface HistoryStats {
  readonly lastEventId: number;
  readonly oldestEventId: number | null;
  readonly eventsRetained: number;
}

export class ChannelHistory {
  private lastId: number;

  /** Whether the tables exist: they are created by the first write, never by a read. */
  private hasSchema: boolean;

  constructor(
    private readonly storage: DurableObjectStorage,
    private readonly limit: number,
  ) {
    this.hasSchema = tableExists(storage.sql, "sequence");
    const row = this.hasSchema
      ? storage.sql.exec<{ value: number }>("SELECT value FROM sequence WHERE name = 'last_event_id'").toArray()[0]
      : undefined;
    this.lastId = row?.value ?? 0;
  }

  /** Highest id ever assigned (0 before the first event). */
  get lastEventId(): number {
    return this.lastId;
  }

  /**
   * Stores events in one transaction, assigning consecutive ids, and prunes
   * what falls out of the retention window. Either all are stored or none.
   * `alsoInTransaction` runs inside the same transaction with the stored
   * events (e.g. to move a Redis cursor, or remember an idempotency key,
   * together with the events).
   */
  append(
    events: readonly { data: string; event?: string | undefined }[],
    alsoInTransaction?: (stored: readonly StoredEvent[]) => void,
    now = Date.now(),
  ): StoredEvent[] {
    return this.storage.transactionSync(() => {
      const stored = events.length === 0 ? [] : this.insert(events, now);
      alsoInTransaction?.(stored);
      // Only once nothing in the transaction can throw any more.
      if (stored.length > 0) {
        this.lastId = stored[stored.length - 1]!.id;
        this.hasSchema = true;
      }
      return stored;
    });
  }

  private insert(events: readonly { data: string; event?: string | undefined }[], now: number): StoredEvent[] {
    this.createSchema();
    let id = this.lastId;
    const stored: StoredEvent[] = [];
    for (const input of events) {
      id += 1;
      const event = input.event ?? null;
      this.storage.sql.exec(
        "INSERT INTO events (id, event, data, published_at) VALUES (?, ?, ?, ?)",
        id,
        event,
        input.data,
        now,
      );
      stored.push({ id, event, data: input.data });
    }
    this.storage.sql.exec(
      "INSERT INTO sequence (name, value) VALUES ('last_event_id', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
      id,
    );
    this.storage.sql.exec("DELETE FROM events WHERE id <= ?", id - this.limit);
    return stored;
  }

  private createSchema(): void {
    if (this.hasSchema) return;
    this.storage.sql.exec(`
      CREATE TABLE IF NOT EXISTS events (
        id INTEGER PRIMARY KEY,
        event TEXT,
        data TEXT NOT NULL,
        published_at INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS sequence (
        name TEXT PRIMARY KEY,
        value INTEGER NOT NULL
      );
    `);
  }

  /** Events with afterId < id <= upToId, oldest first, at most `limit` of them. */
  readRange(afterId: number, upToId: number, limit: number): StoredEvent[] {
    if (!this.hasSchema) return [];
    return this.storage.sql
      .exec<{ id: number; event: string | null; data: string }>(
        "SELECT id, event, data FROM events WHERE id > ? AND id <= ? ORDER BY id LIMIT ?",
        afterId,
        upToId,
        limit,
      )
      .toArray()
      .map((row) => ({ id: row.id, event: row.event, data: row.data }));
  }

  /**
   * How many retained events have afterId < id <= upToId, without a query:
   * ids are consecutive and pruning keeps the last `limit` of them.
   */
  countBetween(afterId: number, upToId: number): number {
    return Math.max(0, upToId - Math.max(afterId, this.lastId - this.limit));
  }

  oldestEventId(): number | null {
    if (!this.hasSchema) return null;
    const row = this.storage.sql.exec<{ id: number | null }>("SELECT MIN(id) AS id FROM events").toArray()[0];
    return row?.id ?? null;
  }

  stats(): HistoryStats {
    if (!this.hasSchema) return { lastEventId: 0, oldestEventId: null, eventsRetained: 0 };
    const row = this.storage.sql
      .exec<{ oldest: number | null; count: number }>("SELECT MIN(id) AS oldest, COUNT(*) AS count FROM events")
      .toArray()[0];
    return {
      lastEventId: this.lastId,
      oldestEventId: row?.oldest ?? null,
      eventsRetained: row?.count ?? 0,
    };
  }
}
