/**
 * Mercure cursors, and what they reveal: the one place these rules live.
 *
 * A subscriber holds a cursor (its EventSource's last event id) of one of
 * two kinds: a publisher's id, seen on an update it may read, or a hub mark
 * `#…` (the first bytes of every stream, before a clean end, and after
 * filtered-out updates: view.ts). It sends it back as Last-Event-ID (or
 * the `last_event_id` query parameter; `lastEventID` in the pre-standard
 * mode) and the hub answers with a replay start and a
 * Mercure-Last-Event-ID / Last-Event-ID header (draft-08 §Reconciliation).
 *
 * The rules:
 * 1. The hub's own numbering never leaves it in clear. A mark is `#` and
 *    22 base64url characters: an encrypted, authenticated form of the
 *    position n (draft-08 §Reconciliation, §Authorization on Event Replay:
 *    "expose an encrypted form of an internal ordered identifier"). Only the
 *    hub can read or make one; the key is a random secret the hub's
 *    sequencing object makes once and keeps (src/channel/object-secret.ts),
 *    fetched by each Worker isolate once (`hubMarks`).
 * 2. The answer to a Last-Event-ID depends only on what the subscriber could
 *    have been given. `earliest`; an unknown, pruned or never published id;
 *    the id of an update this subscriber may not read; a mark that does not
 *    decode (garbled, forged, made with another hub's key, or a plain `#<n>`
 *    of earlier releases); a mark whose position lies outside the retained
 *    history: all of them get the same answer, header `earliest` and every
 *    retained update from the oldest (with whatever the stream writes for
 *    that start). Response timing aside: each of them costs one `locate`.
 * 3. Otherwise the header repeats what was sent: the id of an update the
 *    subscriber may read, or a valid mark still inside the retained history,
 *    and the replay starts right after that update or position. The header
 *    never names anything the subscriber did not send.
 *
 * What marks still tell: equal marks name the same position (the mark is
 * deterministic), so a subscriber that reconnects learns whether the hub's
 * log moved meanwhile, private updates included; and the view's marks after
 * filtered-out updates show that such updates pass, in batches. Never how
 * many updates the hub holds, nor any update's id or existence by name.
 */
import type { Location } from "../objects/channel-object";
import { EARLIEST, HUB_ID_PREFIX } from "./protocol";
import { readWord, type SipKey, sipHash64, sipKey, writeWord } from "./siphash";
import { decodeEnvelope, type MercureUpdate } from "./update";

/** Reads and makes the hub's position marks (rule 1). */
export interface PositionMarks {
  /** The mark of position n (0 ≤ n < 2^53): `#` and 22 characters of [A-Za-z0-9_-]. */
  mark(position: number): string;
  /** The position a mark names, or null for anything this key did not make. */
  position(mark: string): number | null;
}

/** The secret's length: two SipHash keys. */
export const MARK_SECRET_BYTES = 32;
const MARK_BYTES = 16;
const MARK_LENGTH = HUB_ID_PREFIX.length + 22;
/** Marks made lately, by position: many subscribers of one isolate write the same mark. */
const CACHE_MAX = 256;

/**
 * Marks keyed by `secret` (32 random bytes). The construction is SIV
 * (Rogaway and Shrimpton, deterministic authenticated encryption) with
 * SipHash-2-4 as its two PRFs, over the 64-bit word n:
 *   tag = SipHash(k1, n); body = n XOR SipHash(k2, tag); mark = # base64url(tag ‖ body)
 * (words little-endian). Reading inverts the pad and checks the tag, so a
 * mark nobody made with this key is refused except with probability 2^-64,
 * and base64url's spare bits must be zero (one spelling per mark).
 */
export function positionMarks(secret: Uint8Array): PositionMarks {
  if (secret.length !== MARK_SECRET_BYTES) throw new Error(`the mark secret must be ${MARK_SECRET_BYTES} bytes`);
  const tagKey = sipKey(secret, 0);
  const padKey = sipKey(secret, 16);
  const made = new Map<number, string>();
  return {
    mark(position) {
      if (!Number.isSafeInteger(position) || position < 0) throw new RangeError(`not a position: ${position}`);
      let mark = made.get(position);
      if (mark !== undefined) return mark;
      mark = HUB_ID_PREFIX + base64url(seal(tagKey, padKey, BigInt(position)));
      if (made.size >= CACHE_MAX) made.delete(made.keys().next().value as number);
      made.set(position, mark);
      return mark;
    },
    position(mark) {
      if (mark.length !== MARK_LENGTH || !mark.startsWith(HUB_ID_PREFIX)) return null;
      const bytes = fromBase64url(mark.slice(HUB_ID_PREFIX.length));
      if (bytes === null) return null;
      const position = open(tagKey, padKey, bytes);
      return position !== null && position <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(position) : null;
    },
  };
}

function seal(tagKey: SipKey, padKey: SipKey, position: bigint): Uint8Array {
  const tag = sipHash64(tagKey, position);
  const bytes = new Uint8Array(MARK_BYTES);
  writeWord(tag, bytes, 0);
  writeWord(position ^ sipHash64(padKey, tag), bytes, 8);
  return bytes;
}

function open(tagKey: SipKey, padKey: SipKey, bytes: Uint8Array): bigint | null {
  const tag = readWord(bytes, 0);
  const position = readWord(bytes, 8) ^ sipHash64(padKey, tag);
  return sipHash64(tagKey, position) === tag ? position : null;
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

function base64url(bytes: Uint8Array): string {
  let text = "";
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      text += ALPHABET[(value >> bits) & 63];
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) text += ALPHABET[(value << (6 - bits)) & 63];
  return text;
}

/** The 16 bytes 22 characters spell, or null (another alphabet, or spare bits set). */
function fromBase64url(text: string): Uint8Array | null {
  const bytes = new Uint8Array(MARK_BYTES);
  let bits = 0;
  let value = 0;
  let at = 0;
  for (const char of text) {
    const digit = ALPHABET.indexOf(char);
    if (digit < 0) return null;
    value = (value << 6) | digit;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (at < MARK_BYTES) bytes[at] = (value >> bits) & 0xff;
      at += 1;
    }
    value &= (1 << bits) - 1;
  }
  return at === MARK_BYTES && value === 0 ? bytes : null;
}

/**
 * The hub's marks, made once per isolate from the secret `fetchSecret` reads
 * from the sequencing object (`owner`: what identifies that object, the
 * namespace binding). A failed fetch is not kept: the next request asks again.
 */
export function hubMarks(owner: object, fetchSecret: () => Promise<Uint8Array>): Promise<PositionMarks> {
  let made = MARKS.get(owner);
  if (made === undefined) {
    const making = fetchSecret().then((secret) => positionMarks(new Uint8Array(secret)));
    making.catch(() => {
      if (MARKS.get(owner) === making) MARKS.delete(owner);
    });
    MARKS.set(owner, making);
    made = making;
  }
  return made;
}
const MARKS = new WeakMap<object, Promise<PositionMarks>>();

export interface Resume {
  /** The hub number to resume after (0: from the oldest retained). */
  readonly after: number;
  /** The answer's Last-Event-ID. */
  readonly header: string;
}

/** Rule 2's answer. */
const FROM_START: Resume = { after: 0, header: EARLIEST };

/** Where a subscriber that sent `requested` resumes (rules 2 and 3). */
export async function resumeFrom(
  requested: string,
  marks: PositionMarks,
  locate: (id: string) => Promise<Location>,
  mayRead: (update: MercureUpdate) => boolean,
): Promise<Resume> {
  if (requested === EARLIEST) return FROM_START;
  // Every other id costs the same lookup, marks included (they need the retained range).
  const location = await locate(requested);
  if (requested.startsWith(HUB_ID_PREFIX)) {
    const position = marks.position(requested);
    if (position === null) return FROM_START;
    const retained =
      position <= location.last &&
      (location.oldest === null ? position === location.last : position >= location.oldest - 1);
    return retained ? { after: position, header: requested } : FROM_START;
  }
  if (location.id === null || location.data === null) return FROM_START;
  let readable = false;
  try {
    readable = mayRead(decodeEnvelope(location.data));
  } catch {
    // Not an update (cannot happen for ids the hub mapped): as unknown.
  }
  return readable ? { after: location.id, header: requested } : FROM_START;
}
