/**
 * What one event costs in SQLite rows, as Cloudflare bills them (rows
 * written, rows read: the same counters SqlStorageCursor reports). The
 * cost model (scripts/costs.ts → docs/COSTS.md) uses these figures from
 * scripts/costs-inputs.json; this test fails when the storage code changes
 * them, so the published bill cannot silently go stale.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { expect, it } from "vitest";
import costInputs from "../../scripts/costs-inputs.json";
import { freshChannel } from "./relay-client";

const HISTORY_LIMIT = Number(env.HISTORY_LIMIT);

it("a published event writes and reads the rows the cost model counts, once history is full", async () => {
  const stub = env.CHANNELS.get(env.CHANNELS.idFromName(freshChannel("rows")));
  const perEvent = await runInDurableObject(stub, async (instance, state) => {
    // Count every statement the object runs through its SQL API.
    const sql = state.storage.sql;
    const exec = sql.exec.bind(sql);
    let cursors: SqlStorageCursor<Record<string, SqlStorageValue>>[] = [];
    sql.exec = ((query: string, ...bindings: unknown[]) => {
      const cursor = exec(query, ...bindings);
      cursors.push(cursor);
      return cursor;
    }) as typeof sql.exec;
    const counts: { written: number; read: number }[] = [];
    // Past HISTORY_LIMIT every event also prunes the oldest one.
    for (let index = 0; index < HISTORY_LIMIT + 3; index++) {
      cursors = [];
      await instance.publish([{ data: "x".repeat(1000) }]);
      counts.push({
        written: cursors.reduce((sum, cursor) => sum + cursor.rowsWritten, 0),
        read: cursors.reduce((sum, cursor) => sum + cursor.rowsRead, 0),
      });
    }
    return counts.slice(HISTORY_LIMIT + 1);
  });
  expect(perEvent).toHaveLength(2);
  for (const counts of perEvent) {
    expect(counts).toEqual({
      written: costInputs.assumptions.rowsWrittenPerEvent.value,
      read: costInputs.assumptions.rowsReadPerEvent.value,
    });
  }
});
