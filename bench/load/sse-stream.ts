/**
 * Reads one raw HTTP/1.1 SSE response from a socket's bytes (which may sit
 * in a reused buffer: nothing here keeps a reference to them): the status
 * line and headers, chunked transfer decoding, and the event stream's
 * `data:` lines. Hand-written so 10,000 subscribers cost a socket and a few
 * strings each, not an HTTP client and an EventSource object.
 */

export interface SseStreamHandlers {
  /** Called once with the response status when the headers are complete. */
  readonly onHead: (status: number) => void;
  /** Called with the value of every `data:` line (one line events are all the bench sends). */
  readonly onData: (value: string) => void;
}

const HEAD_END = Buffer.from("\r\n\r\n");

type ChunkState = "size" | "size-ext" | "size-lf" | "data" | "data-cr" | "data-lf" | "done";

export class SseStreamParser {
  private head: Buffer | null = Buffer.alloc(0);
  private chunked = false;
  private chunkState: ChunkState = "size";
  private chunkLeft = 0;
  private partialLine = "";
  private readonly handlers: SseStreamHandlers;

  constructor(handlers: SseStreamHandlers) {
    this.handlers = handlers;
  }

  push(bytes: Buffer): void {
    if (this.head !== null) {
      const joined = this.head.length === 0 ? bytes : Buffer.concat([this.head, bytes]);
      const end = joined.indexOf(HEAD_END);
      if (end < 0) {
        this.head = Buffer.from(joined); // a copy: `bytes` may be a reused read buffer
        return;
      }
      this.head = null;
      this.readHead(joined.toString("latin1", 0, end));
      bytes = joined.subarray(end + HEAD_END.length);
      if (bytes.length === 0) return;
    }
    if (this.chunked) this.unchunk(bytes);
    else this.body(bytes, 0, bytes.length);
  }

  private readHead(text: string): void {
    const lines = text.split("\r\n");
    const status = Number(lines[0]?.split(" ")[1]);
    this.chunked = lines.some((line) => /^transfer-encoding:\s*chunked/i.test(line));
    this.handlers.onHead(status);
  }

  /** Chunked transfer coding (RFC 9112 §7.1): sizes in hex, each chunk followed by CRLF. */
  private unchunk(bytes: Buffer): void {
    let i = 0;
    while (i < bytes.length) {
      switch (this.chunkState) {
        case "size": {
          const c = bytes[i++]!;
          if (c === 0x0d) this.chunkState = "size-lf";
          else if (c === 0x3b) this.chunkState = "size-ext";
          else if (c === 0x20 || c === 0x09)
            break; // padding some servers put after the size
          else this.chunkLeft = this.chunkLeft * 16 + hexValue(c);
          break;
        }
        case "size-ext":
          if (bytes[i++] === 0x0d) this.chunkState = "size-lf";
          break;
        case "size-lf":
          i++;
          this.chunkState = this.chunkLeft === 0 ? "done" : "data";
          break;
        case "data": {
          const end = Math.min(bytes.length, i + this.chunkLeft);
          this.body(bytes, i, end);
          this.chunkLeft -= end - i;
          i = end;
          if (this.chunkLeft === 0) this.chunkState = "data-cr";
          break;
        }
        case "data-cr":
          i++;
          this.chunkState = "data-lf";
          break;
        case "data-lf":
          i++;
          this.chunkState = "size";
          break;
        case "done":
          return;
      }
    }
  }

  private body(bytes: Buffer, start: number, end: number): void {
    if (start >= end) return;
    const text = this.partialLine + bytes.toString("latin1", start, end);
    let from = 0;
    for (;;) {
      const newline = text.indexOf("\n", from);
      if (newline < 0) break;
      if (text.startsWith("data:", from)) {
        const valueStart = text.charCodeAt(from + 5) === 0x20 ? from + 6 : from + 5;
        const valueEnd = text.charCodeAt(newline - 1) === 0x0d ? newline - 1 : newline;
        this.handlers.onData(text.slice(valueStart, valueEnd));
      }
      from = newline + 1;
    }
    this.partialLine = from === 0 ? text : text.slice(from);
  }
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  throw new Error(`bad chunk size byte 0x${c.toString(16)}`);
}
