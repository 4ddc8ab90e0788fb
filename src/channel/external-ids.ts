/**
 * Ids a publisher chose for its events (a Mercure update's `id`), mapped to
 * the channel's own sequence numbers, in the channel object's SQLite
 * storage. A Last-Event-ID that is a publisher's id resumes from the number
 * it maps to.
 *
 * A repeated id resolves to its earliest retained event, as the Mercure
 * draft resolves it (every occurrence is kept, so when the first is pruned
 * the next one still resolves). Rows leave with the history they point into: whatever maps
 * below the oldest retained event is deleted in the same transaction as the
 * write that pruned it. The table appears with the first mapped event,
 * never on a read.
 */
import { tableExists } from "./schema";

const TABLE = "external_ids";

export class ExternalIds {
  private hasSchema: boolean;

  constructor(private readonly sql: SqlStorage) {
    this.hasSchema = tableExists(sql, TABLE);
  }

  /** Maps each id to its event's number (run inside the transaction that stored the events). */
  remember(pairs: readonly (readonly [external: string, id: number])[], oldestRetained: number | null): void {
    if (pairs.length === 0) return;
    // Every time (cheap): a rolled-back transaction would take a table created in it along.
    this.sql.exec(`
      CREATE TABLE IF NOT EXISTS ${TABLE} (external TEXT NOT NULL, id INTEGER NOT NULL, PRIMARY KEY (external, id));
      CREATE INDEX IF NOT EXISTS ${TABLE}_by_id ON ${TABLE} (id);
    `);
    for (const [external, id] of pairs) {
      this.sql.exec(`INSERT OR IGNORE INTO ${TABLE} (external, id) VALUES (?, ?)`, external, id);
    }
    if (oldestRetained !== null) this.sql.exec(`DELETE FROM ${TABLE} WHERE id < ?`, oldestRetained);
  }

  /** The number of the earliest retained event published with this id, or null. */
  lookup(external: string): number | null {
    this.hasSchema ||= tableExists(this.sql, TABLE);
    if (!this.hasSchema) return null;
    const row = this.sql
      .exec<{ id: number | null }>(`SELECT MIN(id) AS id FROM ${TABLE} WHERE external = ?`, external)
      .toArray()[0];
    return row?.id ?? null;
  }
}
