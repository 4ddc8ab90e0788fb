/**
 * The relay's model of what a publisher sends, whichever way it arrives
 * (HTTP or a Redis Stream entry).
 */

/** What a publisher asks the relay to send on one channel. */
export interface EventInput {
  readonly data: string;
  readonly event?: string;
}

/** A publish carrying an Idempotency-Key: the key and a fingerprint of the request it was first used for. */
export interface IdempotencyRequest {
  readonly key: string;
  readonly fingerprint: string;
}
