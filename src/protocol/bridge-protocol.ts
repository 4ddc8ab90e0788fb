/**
 * The internal protocol between the Worker that holds a browser's SSE
 * stream and the Durable Object (channel or fan-out object) that feeds it
 * over a hibernatable WebSocket. Pure encoding, no I/O.
 *
 * Versioned by the WebSocket subprotocol: during a rolling deploy a new
 * Worker can meet an old object and the reverse. An object refuses a
 * version it does not speak with 400 `unsupported_protocol`; a Worker that
 * meets an object without the bridge falls back to the object-held stream.
 *
 * Object → Worker, in order on one socket:
 * - `hello` (text, JSON): where the channel stands when the socket was accepted;
 * - on a resume from behind, the first page of history after the cursor, as a
 *   batch right after the hello (or in the redirect), so every stream that
 *   attaches makes progress whatever the replay gate says later;
 * - `batch` (binary): `"<from> <to>\n"` then the SSE frames of events from+1…to,
 *   exactly the bytes the browser gets. An empty batch with from = to is a
 *   tick: "the channel is at `to`", sent after a restart so a quiet channel's
 *   subscribers still fetch what they missed.
 * Worker → object: nothing (incoming messages are billed); the Worker ends
 * a subscription by closing the socket with one of CLOSE_CODES.
 */

import type { CloseReason } from "../stream/close-reasons";

export const BRIDGE_PROTOCOL = "relay.v1";

/** Where a subscriber resuming after an id starts, and the `relay.lost` frame it gets first, if any. */
interface Resume {
  readonly cursor: number;
  readonly notice: string | null;
}

export interface Hello {
  readonly t: "hello";
  /** Highest durable event id the object has seen (a fan-out object: 0 until its first push). */
  readonly last: number;
  /** Subscribers this object holds, for the re-dial jitter. */
  readonly subscribers: number;
  /** From the channel object, when the attach request carried a cursor. */
  readonly resume?: Resume;
}

/** The channel's answer when new subscribers go to a fan-out object instead of the channel itself. */
export interface Redirect {
  readonly t: "redirect";
  /** Name of the fan-out object to attach to. */
  readonly fanout: string;
  /** Location hint for creating it, if known. */
  readonly locationHint: DurableObjectLocationHint | null;
  readonly last: number;
  readonly subscribers: number;
  readonly resume?: Resume;
  /** The first page of history after the resume cursor (see above): frames up to `to`. */
  readonly page?: { readonly to: number; readonly frames: string };
  /** The stream's place in its client's share (src/channel/client-shares.ts): for the fan-out object, and the Worker's re-dials. */
  readonly ticket?: string;
}

export interface Batch {
  /** Id the subscriber must be at for these frames to follow on without a gap. */
  readonly from: number;
  /** Id of the last event in the frames. */
  readonly to: number;
  readonly frames: Uint8Array;
}

/** Why a Worker closed its socket (one code per src/stream/close-reasons.ts reason); the object counts them in its stats. */
export const CLOSE_CODES: Readonly<Record<CloseReason, number>> = {
  disconnected: 1000,
  /** Direct mode's only (a bridged stream reads history instead): here for a total mapping. */
  overflow: 4001,
  stalled: 4002,
  expired: 4003,
  /** The stream reached its modelled CPU budget (or its replay share) and ended cleanly (the browser resumes). */
  rotated: 4004,
  /** The channel could not be reached; the stream ended cleanly for the browser to try again. */
  unavailable: 4005,
};

const NEWLINE = 10;
const utf8 = new TextEncoder();
const decoder = new TextDecoder();

export function encodeBatch(from: number, to: number, frames: Uint8Array): Uint8Array {
  const header = utf8.encode(`${from} ${to}\n`);
  const message = new Uint8Array(header.byteLength + frames.byteLength);
  message.set(header, 0);
  message.set(frames, header.byteLength);
  return message;
}

export function decodeBatch(message: ArrayBuffer | Uint8Array): Batch {
  const bytes = message instanceof Uint8Array ? message : new Uint8Array(message);
  const end = bytes.indexOf(NEWLINE);
  const header = end < 0 ? "" : decoder.decode(bytes.subarray(0, end));
  const match = /^(\d+) (\d+)$/.exec(header);
  if (!match) throw new TypeError("malformed batch header");
  const from = Number(match[1]);
  const to = Number(match[2]);
  if (to < from) throw new TypeError("malformed batch range");
  return { from, to, frames: bytes.subarray(end + 1) };
}

export function decodeControl(text: string): Hello | Redirect {
  const value = JSON.parse(text) as Hello | Redirect;
  if (value.t !== "hello" && value.t !== "redirect") throw new TypeError("unknown control message");
  return value;
}

export function closeReason(code: number): CloseReason {
  for (const [reason, value] of Object.entries(CLOSE_CODES)) if (value === code) return reason as CloseReason;
  return "disconnected";
}
