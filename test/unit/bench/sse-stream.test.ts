/**
 * bench/load/sse-stream.ts and bench/load/payload.ts: how every subscriber
 * of the load generator reads a raw HTTP/1.1 response (status, chunked
 * transfer coding, `data:` lines) and the bench event inside it.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodePayload, encodePayload } from "../../../bench/load/payload.ts";
import { SseStreamParser } from "../../../bench/load/sse-stream.ts";
import { testSeed } from "../../support/seed.ts";

const SEED = testSeed();

interface Read {
  statuses: number[];
  data: string[];
}

/** Feeds `pieces` as the worker does: each through one shared read buffer, overwritten by the next read. */
function parse(pieces: readonly Buffer[]): Read {
  const read: Read = { statuses: [], data: [] };
  const parser = new SseStreamParser({
    onHead: (status) => read.statuses.push(status),
    onData: (value) => read.data.push(value),
  });
  const shared = Buffer.alloc(Math.max(1, ...pieces.map((p) => p.length)));
  for (const piece of pieces) {
    piece.copy(shared);
    parser.push(shared.subarray(0, piece.length));
    shared.fill(0x7e); // whatever the parser kept a reference to is now garbage
  }
  return read;
}

/** Splits `bytes` at the given offsets (any order, duplicates allowed). */
function splitAt(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let from = 0;
  for (const point of [...points, bytes.length]) {
    if (point > from) pieces.push(bytes.subarray(from, point));
    from = Math.max(from, point);
  }
  return pieces;
}

const head = (extra: string) =>
  `HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n${extra}\r\n`;

/** An SSE body as a server writes it: optional id/event lines, comments, CRLF or LF line ends. */
function body(events: readonly string[], crlf: boolean): string {
  const eol = crlf ? "\r\n" : "\n";
  return `: hello${eol}${events.map((data, i) => `id: ${i}${eol}event: m${eol}data: ${data}${eol}${eol}`).join(": heartbeat\n\n")}`;
}

/** Chunked transfer coding with the given chunk sizes (cycled), a mix of hex cases, extensions and padding. */
function chunked(text: string, sizes: readonly number[]): string {
  const bytes = Buffer.from(text, "latin1");
  let out = "";
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const size = Math.min(sizes[i % sizes.length]!, bytes.length - at);
    const hex = i % 2 === 0 ? size.toString(16) : size.toString(16).toUpperCase();
    const decoration = i % 3 === 1 ? ";ext=1" : i % 3 === 2 ? " " : "";
    out += `${hex}${decoration}\r\n${bytes.toString("latin1", at, at + size)}\r\n`;
    at += size;
  }
  return `${out}0\r\n\r\n`;
}

// Event data as the bench and real servers send it: one line, any printable text.
const eventData = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
  maxLength: 40,
});

describe("SseStreamParser", () => {
  it("reads the status once and every data line, however the response is cut into reads", () => {
    fc.assert(
      fc.property(
        fc.array(eventData, { maxLength: 12 }),
        fc.boolean(),
        fc.option(fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 5 }), { nil: undefined }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (events, crlf, chunkSizes, cuts) => {
          const text = body(events, crlf);
          const response =
            chunkSizes === undefined
              ? `${head("")}${text}`
              : `${head("Transfer-Encoding: chunked\r\n")}${chunked(text, chunkSizes)}`;
          const read = parse(splitAt(Buffer.from(response, "latin1"), cuts));
          expect(read.statuses).toEqual([200]);
          expect(read.data).toEqual(events);
        },
      ),
      { seed: SEED, numRuns: 300 },
    );
  });

  it("takes `data:` with or without the space, and nothing else", () => {
    const read = parse([
      Buffer.from(
        `${head("")}data:tight\ndata:  two spaces\nid: 7\nevent: x\n: data: in a comment\nretry: 10\ndata: last\n`,
      ),
    ]);
    expect(read.data).toEqual(["tight", " two spaces", "last"]);
  });

  it("holds a line back until its newline arrives", () => {
    const read = parse([Buffer.from(`${head("")}data: first\ndata: sec`)]);
    expect(read.data).toEqual(["first"]);
  });

  it("reports a refusal's status, and a transfer-encoding header in any case", () => {
    expect(parse([Buffer.from("HTTP/1.1 429 Too Many Requests\r\ncontent-length: 0\r\n\r\n")]).statuses).toEqual([429]);
    const read = parse([Buffer.from(`${head("TRANSFER-ENCODING: Chunked\r\n")}8\r\ndata: x\n\r\n0\r\n\r\n`)]);
    expect(read.data).toEqual(["x"]);
  });

  it("ignores whatever follows the last chunk", () => {
    const read = parse([Buffer.from(`${head("Transfer-Encoding: chunked\r\n")}8\r\ndata: a\n\r\n0\r\n\r\ndata: b\n`)]);
    expect(read.data).toEqual(["a"]);
  });

  it("throws on a chunk size that is not hexadecimal (the worker then counts a bad stream)", () => {
    expect(() => parse([Buffer.from(`${head("Transfer-Encoding: chunked\r\n")}zz\r\n`)])).toThrow(
      /bad chunk size byte 0x7a/,
    );
  });
});

describe("bench payload", () => {
  it("round-trips step, sequence and send time, padded to the payload size", () => {
    fc.assert(
      fc.property(
        fc.nat(1_000),
        fc.nat(1_000_000),
        fc.integer({ min: 0, max: 2 ** 45 }).map((tenths) => tenths / 10),
        fc.integer({ min: 1, max: 300 }),
        (step, seq, sentUs, size) => {
          const text = encodePayload(step, seq, sentUs, size);
          expect(text.length).toBeGreaterThanOrEqual(size);
          if (text.length > size) expect(text.endsWith("|")).toBe(true); // never truncated, only not padded
          expect(decodePayload(text)).toEqual({ step, seq, sentUs });
        },
      ),
      { seed: SEED, numRuns: 200 },
    );
  });

  it("keeps a warm-up step's negative number, and ignores data that is not a bench event", () => {
    expect(decodePayload(encodePayload(-1, 3, 12.5, 100))).toEqual({ step: -1, seq: 3, sentUs: 12.5 });
    for (const other of ["", "hello", "b|1|2", '{"b|":1}']) expect(decodePayload(other)).toBeNull();
  });
});
