/**
 * `application/x-www-form-urlencoded` parsing (WHATWG URL §5.1) that refuses
 * what the usual parsers silently repair: a name or value whose
 * percent-decoded bytes are not UTF-8 is a 400 (draft-08 §Subscription,
 * §Publication: values MUST be valid UTF-8), not a U+FFFD.
 */
import { badRequest } from "./errors";

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

const AMPERSAND = 0x26;
const EQUALS = 0x3d;
const PLUS = 0x2b;
const PERCENT = 0x25;
const SPACE = 0x20;

/** Name/value pairs in order; `input` is a query (without `?`) or a request body (bytes or text). */
export function parseFormEncoded(input: string | Uint8Array): Array<[string, string]> {
  const bytes = typeof input === "string" ? utf8.encode(input) : input;
  const pairs: Array<[string, string]> = [];
  let start = 0;
  while (start <= bytes.length) {
    let end = bytes.indexOf(AMPERSAND, start);
    if (end === -1) end = bytes.length;
    if (end > start) {
      const sequence = bytes.subarray(start, end);
      const equals = sequence.indexOf(EQUALS);
      const name = equals === -1 ? sequence : sequence.subarray(0, equals);
      const value = equals === -1 ? sequence.subarray(sequence.length) : sequence.subarray(equals + 1);
      pairs.push([decodeComponent(name), decodeComponent(value)]);
    }
    start = end + 1;
  }
  return pairs;
}

function decodeComponent(bytes: Uint8Array): string {
  const out = new Uint8Array(bytes.length);
  let length = 0;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (byte === PLUS) {
      out[length++] = SPACE;
    } else if (byte === PERCENT && i + 2 < bytes.length && isHex(bytes[i + 1]!) && isHex(bytes[i + 2]!)) {
      out[length++] = (hexValue(bytes[i + 1]!) << 4) | hexValue(bytes[i + 2]!);
      i += 2;
    } else {
      out[length++] = byte;
    }
  }
  try {
    return strictUtf8.decode(out.subarray(0, length));
  } catch {
    throw badRequest("A form field name or value is not valid UTF-8 once percent-decoded.");
  }
}

function isHex(byte: number): boolean {
  return (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66);
}

function hexValue(byte: number): number {
  return byte <= 0x39 ? byte - 0x30 : (byte | 0x20) - 0x61 + 10;
}
