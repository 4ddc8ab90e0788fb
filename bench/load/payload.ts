/**
 * The event body every system carries: `b|<step>|<seq>|<sentUs>|<padding>`.
 * The send time travels inside the event, so latency needs no cooperation
 * from the server. All processes read the same clock: process.hrtime is
 * CLOCK_MONOTONIC, which is one system-wide clock on Linux, so a time taken
 * in the publisher and one taken in a subscriber process subtract exactly.
 */

const PAYLOAD_MARK = "b|";

/** Microseconds on the machine's monotonic clock (shared by every process). */
export function nowUs(): number {
  const [seconds, nanoseconds] = process.hrtime();
  return seconds * 1e6 + nanoseconds / 1e3;
}

export function encodePayload(step: number, seq: number, sentUs: number, size: number): string {
  const head = `${PAYLOAD_MARK}${step}|${seq}|${sentUs.toFixed(1)}|`;
  return head.length >= size ? head : head + "x".repeat(size - head.length);
}

export interface DecodedPayload {
  readonly step: number;
  readonly seq: number;
  readonly sentUs: number;
}

/** Parses the text after `data: `; null for anything that is not a bench event. */
export function decodePayload(text: string): DecodedPayload | null {
  if (!text.startsWith(PAYLOAD_MARK)) return null;
  const a = text.indexOf("|", 2);
  const b = text.indexOf("|", a + 1);
  const c = text.indexOf("|", b + 1);
  if (a < 0 || b < 0 || c < 0) return null;
  return { step: Number(text.slice(2, a)), seq: Number(text.slice(a + 1, b)), sentUs: Number(text.slice(b + 1, c)) };
}
