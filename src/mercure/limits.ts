/**
 * Default limits of the Mercure hub, in one place (src/config.ts may let the
 * operator change them). draft-08 asks for implementation-defined maximums
 * and fixes the status past them (§Subscription: 400; §Publication: 413;
 * §Authorization Details: 401 `invalid_token`).
 */
export const MERCURE_LIMITS = {
  /** Selectors (`match*` or `topic` parameters) in one subscription. */
  maxMatchers: 32,
  /** Characters of one selector or token matcher. Matching costs O(topic length x pattern length / 32). */
  maxPatternLength: 512,
  /**
   * Automaton words (one per 32 pattern atoms past the literal prefix and
   * suffix) all the matchers of one subscription or token may use together:
   * matching one topic costs about 6 word operations per word per topic
   * character, so this bounds the work a hostile selector set adds per update.
   * Typical patterns (`https://example.com/books/:id`) use 1.
   */
  maxMatcherCost: 64,
  /** Characters of a published topic, `id` or `type`. */
  maxFieldLength: 1_024,
  /** UTF-8 bytes of a published `data`. */
  maxDataBytes: 65_536,
  /** `topic` fields of one legacy publish (draft-08 allows exactly one). */
  maxTopics: 16,
  /** `mercure` authorization details in one token. */
  maxAuthorizationDetails: 16,
  /** Topic matchers in one token (all details together, or the legacy `mercure.publish`/`subscribe` arrays). */
  maxTokenMatchers: 64,
  /** Characters of an access token. */
  maxTokenLength: 16_384,
} as const;
