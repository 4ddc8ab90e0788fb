/**
 * What the id rewrite of a multi-channel stream (src/edge/multi-view.ts) costs per delivery, against
 * the zero-copy path of a single-channel stream (which writes the object's bytes untouched). I/O-free,
 * in Node; see README.md here for the bundling step. Prints µs per delivered batch by size and channels.
 *
 *   node_modules/.bin/esbuild src/edge/multi-view.ts --bundle --format=esm --outfile=/tmp/multi-view.mjs
 *   node_modules/.bin/node bench/experiments/multi-view.ts /tmp/multi-view.mjs
 */
const modulePath = process.argv[2];
if (!modulePath) throw new Error("usage: node bench/experiments/multi-view.ts <bundled multi-view.mjs>");
const { channelView } = (await import(modulePath)) as {
  channelView: (index: number, channel: string) => (bytes: Uint8Array, cursors: readonly number[]) => Uint8Array;
};
const utf8 = new TextEncoder();

function frame(id: number, bytes: number): Uint8Array {
  return utf8.encode(
    `id: ${id}\nevent: update\ndata: ${JSON.stringify({ v: "x".repeat(Math.max(0, bytes - 40)) })}\n\n`,
  );
}

const rows: string[] = [];
for (const channels of [2, 16]) {
  for (const size of [100, 1_024, 16_384]) {
    const view = channelView(channels - 1, "orders-42");
    const cursors = Array.from({ length: channels }, (_, index) => 1_000_000 + index);
    const batches = Array.from({ length: 1_000 }, (_, index) => frame(2_000_000 + index, size));
    let sink = 0;
    for (let warm = 0; warm < 3; warm++) for (const batch of batches) sink += view(batch, cursors).byteLength;
    const rounds = 5;
    const started = process.hrtime.bigint();
    for (let round = 0; round < rounds; round++) for (const batch of batches) sink += view(batch, cursors).byteLength;
    const micros = Number(process.hrtime.bigint() - started) / 1_000 / (rounds * batches.length);
    rows.push(`| ${channels} | ${size} | ${micros.toFixed(1)} |`);
    if (sink === 0) throw new Error("nothing written");
  }
}
console.log("| channels | event bytes | µs per delivery (rewrite only) |");
console.log("| -------- | ----------- | ------------------------------ |");
for (const row of rows) console.log(row);

// A module (top-level await).
export {};
