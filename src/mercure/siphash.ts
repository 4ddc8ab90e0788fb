/**
 * SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast short-input PRF",
 * 2012; the reference test vectors pin it in test/unit/mercure/cursor.test.ts),
 * for exactly one 64-bit word of input: a keyed pseudo-random function,
 * synchronous and small, which is what the hub's position marks need
 * (cursor.ts). Words are unsigned 64-bit BigInts; the input word is the
 * message's 8 bytes read little-endian, as the reference reads them.
 */
const MASK = (1n << 64n) - 1n;

/** A SipHash key: its 16 bytes as two little-endian words. */
export interface SipKey {
  readonly k0: bigint;
  readonly k1: bigint;
}

/** The key in `bytes[offset..offset+16)`. */
export function sipKey(bytes: Uint8Array, offset: number): SipKey {
  return { k0: readWord(bytes, offset), k1: readWord(bytes, offset + 8) };
}

export function readWord(bytes: Uint8Array, offset: number): bigint {
  let word = 0n;
  for (let index = 7; index >= 0; index--) word = (word << 8n) | BigInt(bytes[offset + index] ?? 0);
  return word;
}

export function writeWord(word: bigint, bytes: Uint8Array, offset: number): void {
  for (let index = 0; index < 8; index++) bytes[offset + index] = Number((word >> BigInt(8 * index)) & 0xffn);
}

const rotl = (x: bigint, bits: bigint): bigint => ((x << bits) | (x >> (64n - bits))) & MASK;

/** SipHash-2-4 of the 8-byte message whose little-endian word is `message`. */
export function sipHash64(key: SipKey, message: bigint): bigint {
  const state = [
    key.k0 ^ 0x736f6d6570736575n,
    key.k1 ^ 0x646f72616e646f6dn,
    key.k0 ^ 0x6c7967656e657261n,
    key.k1 ^ 0x7465646279746573n,
  ] as [bigint, bigint, bigint, bigint];
  const compress = (word: bigint, rounds: number) => {
    state[3] ^= word;
    for (let round = 0; round < rounds; round++) sipRound(state);
    state[0] ^= word;
  };
  compress(message & MASK, 2);
  // The last block: no bytes left, the message length (8) in the top byte.
  compress(8n << 56n, 2);
  state[2] ^= 0xffn;
  for (let round = 0; round < 4; round++) sipRound(state);
  return state[0] ^ state[1] ^ state[2] ^ state[3];
}

function sipRound(v: [bigint, bigint, bigint, bigint]): void {
  v[0] = (v[0] + v[1]) & MASK;
  v[1] = rotl(v[1], 13n) ^ v[0];
  v[0] = rotl(v[0], 32n);
  v[2] = (v[2] + v[3]) & MASK;
  v[3] = rotl(v[3], 16n) ^ v[2];
  v[0] = (v[0] + v[3]) & MASK;
  v[3] = rotl(v[3], 21n) ^ v[0];
  v[2] = (v[2] + v[1]) & MASK;
  v[1] = rotl(v[1], 17n) ^ v[2];
  v[2] = rotl(v[2], 32n);
}
