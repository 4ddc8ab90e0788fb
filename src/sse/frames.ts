/**
 * Decoder for the relay's own frames (what formatEvent writes and the bridge
 * carries): `id: <n>` (absent on the relay's `relay.lost` notices), an
 * optional `event: <name>`, one or more `data: <line>`, a blank line.
 * Pure, no I/O: a stream that rewrites frames (a view, see
 * src/edge/bridged-stream.ts) parses a chunk, changes it, and formats it again.
 *
 * Chunks always hold whole frames (batches, history pages), so no state is
 * kept between calls. This is not a general EventSource parser: the relay
 * writes LF line ends, `: ` after every field name, and no `retry:` among
 * channel frames; anything else is refused with a TypeError.
 */

export interface RelayFrame {
  /** The event's id; null for the relay's own notices (relay.lost), which carry none. */
  readonly id: number | null;
  /** The `event:` name, or null for the default `message` type. */
  readonly event: string | null;
  /** The data lines joined with LF. */
  readonly data: string;
}

const decoder = new TextDecoder();
const ID = /^\d{1,16}$/;

export function parseFrames(bytes: Uint8Array): RelayFrame[] {
  const text = decoder.decode(bytes);
  const frames: RelayFrame[] = [];
  let id: number | null = null;
  let event: string | null = null;
  let data: string[] = [];
  let start = 0;
  while (start < text.length) {
    const end = text.indexOf("\n", start);
    if (end < 0) throw new TypeError("relay frames must end with a blank line");
    const line = text.slice(start, end);
    start = end + 1;
    if (line === "") {
      if (data.length === 0 && id === null && event === null) continue; // after comments only
      if (data.length === 0) throw new TypeError("relay frame without data");
      frames.push({ id, event, data: data.join("\n") });
      id = null;
      event = null;
      data = [];
    } else if (line.startsWith("data: ")) data.push(line.slice(6));
    else if (line.startsWith("id: ") && ID.test(line.slice(4))) id = Number(line.slice(4));
    else if (line.startsWith("event: ")) event = line.slice(7);
    else if (!line.startsWith(":")) throw new TypeError(`unexpected line in relay frames: ${JSON.stringify(line)}`);
  }
  if (data.length > 0 || id !== null || event !== null) throw new TypeError("relay frames must end with a blank line");
  return frames;
}
