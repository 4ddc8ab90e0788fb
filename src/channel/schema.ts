/**
 * Durable Object SQLite helpers. Objects create their tables on the first
 * write, never on a read: a request that only reads (an anonymous
 * subscriber, a stats call) must leave no storage behind.
 */
export function tableExists(sql: SqlStorage, name: string): boolean {
  return sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", name).toArray().length > 0;
}
