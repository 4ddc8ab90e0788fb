/**
 * Idempotency keys a channel has seen, in its SQLite storage: key → the
 * request's fingerprint and the ids it was given. Written in the same
 * transaction as the events, so a stored key always has its events.
 *
 * A batch over several channels first reserves its key on every channel
 * (a row without ids), so a key already used for another request is found
 * before anything is stored anywhere (see publishBatch in src/routes/app.ts).
 * Keys past their TTL are deleted whenever the store is opened (the channel
 * object starts) and on every reservation and keyed publish.
 * The table appears with the first keyed publish or reservation, never on a read.
 */
import { tableExists } from "./schema";

export interface RememberedPublish {
  readonly fingerprint: string;
  readonly ids: readonly string[];
}

/**
 * What reserving a key on a channel found: free (now reserved for this
 * request), already this request's (a retry, or its own earlier reservation),
 * or another request's.
 */
export type Reservation = "reserved" | "held" | "conflict";

/** The `ids` of a reservation: the request has not stored its events here yet. */
const RESERVED = "null";

export class IdempotencyStore {
  private hasSchema: boolean;

  constructor(
    private readonly sql: SqlStorage,
    private readonly ttlMs: number,
  ) {
    this.hasSchema = tableExists(sql, "idempotency_keys");
    if (this.hasSchema) this.purge();
  }

  private createSchema(): void {
    if (this.hasSchema) return;
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS idempotency_keys (
        key TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL,
        ids TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX IF NOT EXISTS idempotency_keys_created ON idempotency_keys (created_at);
    `);
  }

  /**
   * The publish this key was used for, or null if it is free. With the
   * fingerprint of the request asking, that request's own reservation counts
   * as free (it goes on to store its events); another request's reservation
   * is returned with no ids, so its fingerprint differs: a conflict.
   */
  lookup(key: string, fingerprint?: string, now = Date.now()): RememberedPublish | null {
    const row = this.row(key, now);
    if (!row) return null;
    if (row.ids === RESERVED) return row.fingerprint === fingerprint ? null : { fingerprint: row.fingerprint, ids: [] };
    return { fingerprint: row.fingerprint, ids: JSON.parse(row.ids) as string[] };
  }

  /** Reserves `key` for the request with `fingerprint`, unless another request has it. */
  reserve(key: string, fingerprint: string, now = Date.now()): Reservation {
    this.createSchema();
    this.hasSchema = true;
    this.purge(now);
    const row = this.row(key, now);
    if (row) return row.fingerprint === fingerprint ? "held" : "conflict";
    this.sql.exec(
      "INSERT INTO idempotency_keys (key, fingerprint, ids, created_at) VALUES (?, ?, ?, ?)",
      key,
      fingerprint,
      RESERVED,
      now,
    );
    return "reserved";
  }

  /** Drops this request's reservation (its batch was refused), never a key that has events. */
  release(key: string, fingerprint: string): void {
    if (!this.schemaPresent()) return;
    this.sql.exec(
      "DELETE FROM idempotency_keys WHERE key = ? AND fingerprint = ? AND ids = ?",
      key,
      fingerprint,
      RESERVED,
    );
  }

  /** Call inside the transaction that stores the events. Also forgets keys past their TTL. */
  remember(key: string, fingerprint: string, ids: readonly string[], now = Date.now()): void {
    this.createSchema();
    this.purge(now);
    this.sql.exec(
      "INSERT OR REPLACE INTO idempotency_keys (key, fingerprint, ids, created_at) VALUES (?, ?, ?, ?)",
      key,
      fingerprint,
      JSON.stringify(ids),
      now,
    );
  }

  private purge(now = Date.now()): void {
    this.sql.exec("DELETE FROM idempotency_keys WHERE created_at < ?", now - this.ttlMs);
  }

  /** Re-checked while absent: a rolled-back first write leaves no table behind. */
  private schemaPresent(): boolean {
    this.hasSchema ||= tableExists(this.sql, "idempotency_keys");
    return this.hasSchema;
  }

  private row(key: string, now: number): { fingerprint: string; ids: string } | undefined {
    if (!this.schemaPresent()) return undefined;
    const row = this.sql
      .exec<{ fingerprint: string; ids: string; created_at: number }>(
        "SELECT fingerprint, ids, created_at FROM idempotency_keys WHERE key = ?",
        key,
      )
      .toArray()[0];
    return row && row.created_at >= now - this.ttlMs ? row : undefined;
  }
}
