/** Nothing anonymous requests do leaves storage behind (both delivery modes). */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { freshChannel, publishData, stats, subscribe } from "./relay-client";

function channelStub(channel: string) {
  return env.CHANNELS.get(env.CHANNELS.idFromName(channel));
}

describe("no storage for nobody", () => {
  it("subscribing to and reading stats of a channel never written to leaves no tables behind", async () => {
    const channel = freshChannel();
    const stream = await subscribe(channel);
    await stats(channel);
    await stream.cancel();
    const tables = await runInDurableObject(channelStub(channel), (_instance, state) =>
      state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table'").toArray(),
    );
    expect(tables).toEqual([]);
    // The first real write creates the schema.
    await publishData(channel, "now it exists");
    const after = await runInDurableObject(channelStub(channel), (_instance, state) =>
      state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").toArray(),
    );
    expect(after.map((row) => row.name)).toEqual(expect.arrayContaining(["events", "sequence"]));
  });
});
