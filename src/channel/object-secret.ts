/**
 * A random secret an object makes once and keeps in its SQLite storage, the
 * same for every Worker isolate that asks and across restarts: the Mercure
 * hub's sequencing object keys its position marks with it (src/mercure/cursor.ts).
 * The table appears on the first call, which only the hub makes; the value
 * never leaves the Worker that fetched it (no route returns it).
 */
const TABLE = "object_secret";
const SECRET_BYTES = 32;

export function objectSecret(sql: SqlStorage): Uint8Array {
  sql.exec(`CREATE TABLE IF NOT EXISTS ${TABLE} (slot INTEGER PRIMARY KEY CHECK (slot = 0), value BLOB NOT NULL)`);
  const row = sql.exec<{ value: ArrayBuffer }>(`SELECT value FROM ${TABLE} WHERE slot = 0`).toArray()[0];
  if (row !== undefined) return new Uint8Array(row.value);
  const value = crypto.getRandomValues(new Uint8Array(SECRET_BYTES));
  sql.exec(`INSERT INTO ${TABLE} (slot, value) VALUES (0, ?)`, value.buffer);
  return value;
}
