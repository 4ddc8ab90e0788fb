/**
 * Idempotency keys a channel has seen, in its SQLite storage: key → the
 * request's fingerprint and the ids it was given. Written in the same
 * transaction as the events, so a stored key always has its events.
 * The table appears with the first keyed publish.
 */
import { tableExists } from "./schema";

export interface RememberedPublish {
  readonly fingerprint: string;
  readonly ids: readonly string[];
}

export class IdempotencyStore {
  private hasSchema: boolean;

  constructor(
    private readonly sql: SqlStorage,
    private readonly ttlMs: number,
  ) {
    this.hasSchema = tableExists(sql, "idempotency_keys");
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

  lookup(key: string, now = Date.now()): RememberedPublish | null {
    // Re-checked while absent: a rolled-back first write leaves no table behind.
    this.hasSchema ||= tableExists(this.sql, "idempotency_keys");
    if (!this.hasSchema) return null;
    const row = this.sql
      .exec<{ fingerprint: string; ids: string; created_at: number }>(
        "SELECT fingerprint, ids, created_at FROM idempotency_keys WHERE key = ?",
        key,
      )
      .toArray()[0];
    if (!row || row.created_at < now - this.ttlMs) return null;
    return { fingerprint: row.fingerprint, ids: JSON.parse(row.ids) as string[] };
  }

  /** Call inside the transaction that stores the events. Also forgets keys past their TTL. */
  remember(key: string, fingerprint: string, ids: readonly string[], now = Date.now()): void {
    this.createSchema();
    this.sql.exec("DELETE FROM idempotency_keys WHERE created_at < ?", now - this.ttlMs);
    this.sql.exec(
      "INSERT OR REPLACE INTO idempotency_keys (key, fingerprint, ids, created_at) VALUES (?, ?, ?, ?)",
      key,
      fingerprint,
      JSON.stringify(ids),
      now,
    );
  }
}
