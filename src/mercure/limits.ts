/**
 * Fixed limits of the Mercure hub, in one place (the one the operator may
 * change, MERCURE_MAX_MATCHERS, is a setting in src/config/settings.ts). draft-08 asks for implementation-defined maximums
 * and fixes the status past them (§Subscription: 400; §Publication: 413;
 * §Authorization Details: 401 `invalid_token`).
 */
import { CPU_MODEL } from "../edge/cpu-model";

/** MERCURE_LIMITS.maxFieldLength, from which maxMatcherCost follows. */
const MAX_FIELD_LENGTH = 1_024;
/** Modelled CPU the costliest accepted subscription may spend matching one topic at MAX_FIELD_LENGTH. */
const MATCHING_MICROS_PER_UPDATE = 1_000;

export const MERCURE_LIMITS = {
  /** Characters of one selector or token matcher. Matching costs O(topic length x pattern length / 32). */
  maxPatternLength: 512,
  /**
   * Matching work all the matchers of one subscription or token may add
   * together, per topic character, in units of 6 word operations: a
   * LinearPattern costs its words (one per 32 atoms past the literal prefix
   * and suffix), a RegularPattern its worst case, (positions + sets + 1) x
   * words, over 6. This bounds the work a hostile selector set adds per
   * update: at most about 1 ms of CPU on a topic at the length limit
   * (CPU_MODEL.matcherNanos per unit and character, measured). Typical
   * patterns (`https://example.com/books/:id`, `https://example.com/books{/:id}?`,
   * `…/:id(\d+)`) cost 1.
   */
  maxMatcherCost: Math.floor((MATCHING_MICROS_PER_UPDATE * 1000) / (MAX_FIELD_LENGTH * CPU_MODEL.matcherNanos)),
  /** Characters of a published topic, `id` or `type`. */
  maxFieldLength: MAX_FIELD_LENGTH,
  /** UTF-8 bytes of a published `data`. */
  maxDataBytes: 65_536,
  /** `topic` fields of one publish (the canonical topic and its alternates). */
  maxTopics: 16,
  /** `mercure` authorization details in one token. */
  maxAuthorizationDetails: 16,
  /** Topic matchers in one token (all details together, or the legacy `mercure.publish`/`subscribe` arrays). */
  maxTokenMatchers: 64,
  /** Characters of an access token. */
  maxTokenLength: 16_384,
} as const;
