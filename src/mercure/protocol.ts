/**
 * Facts of the Mercure protocol this hub speaks, written once:
 * - `draft`: draft-dunglas-mercure-08 (`match*` selectors, one topic per
 *   update, RFC 9068 access tokens with `authorization_details`);
 * - `legacy`: the pre-standard protocol of today's hub releases and publisher
 *   libraries (`topic=` selectors with URI templates, several topics per
 *   update, the `mercure` JWT claim, the `mercureAuthorization` cookie and the
 *   `authorization` query parameter).
 */
export type MercureMode = "draft" | "legacy";

/** The hub's well-known path (draft-08 §Discovery); also its reserved topic namespace (§Publication). */
export const HUB_PATH = "/.well-known/mercure";

/** The `Last-Event-ID` value that asks for every update the hub has (draft-08 §Reconciliation). */
export const EARLIEST = "earliest";

/**
 * Ids the hub makes itself start with this (draft-08 §Publication lets a hub use relative `#…`
 * ids, and refuses them from publishers): its position marks, opaque (see cursor.ts).
 */
export const HUB_ID_PREFIX = "#";

/** The cookie carrying the access token: draft-08 §Cookie recommends `__Secure-mercure_access_token`. */
export const COOKIE_NAME: Record<MercureMode, string> = {
  draft: "__Secure-mercure_access_token",
  legacy: "mercureAuthorization",
};

/** The `type` of a Mercure authorization detail, compared byte for byte (draft-08 §Authorization Details). */
export const AUTHORIZATION_DETAIL_TYPE = "https://mercure.rocks/authorization-detail";

/** The matcher value that matches every topic, whatever the matcher type (draft-08 §Matcher Types). */
export const WILDCARD = "*";

/** C0 (U+0000–U+001F), DEL (U+007F) and C1 (U+0080–U+009F): refused in topics and matchers (draft-08 §Terminology). */
export function hasControlCharacter(text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    const unit = text.charCodeAt(index);
    if (unit <= 0x1f || (unit >= 0x7f && unit <= 0x9f)) return true;
  }
  return false;
}

/**
 * True if `topic`, resolved as a URI reference against the hub's URL, has the
 * path `/.well-known/mercure` or one under it, whatever its scheme or
 * authority (draft-08 §Publication, §Reserved Hub Namespace). Percent-encoded
 * dots are decoded first, so `/%2Ewell-known/mercure/…` is caught too.
 */
export function isReservedTopic(topic: string, hubUrl: URL): boolean {
  let path: string;
  try {
    path = new URL(topic, hubUrl).pathname;
  } catch {
    return false;
  }
  path = path.replace(/%2e/gi, ".");
  return path === HUB_PATH || path.startsWith(`${HUB_PATH}/`);
}

/**
 * The last event id a subscription resumes after (draft-08 §Reconciliation):
 * the `Last-Event-ID` header, which takes precedence, else the `last_event_id`
 * query parameter (its first occurrence); the pre-standard mode reads its own
 * `lastEventID`, then `Last-Event-ID`, query parameters instead. `EARLIEST`
 * asks for the whole history. Empty values count as absent. Whether the id is
 * known is the caller's lookup (cursor.ts).
 */
export function requestedLastEventId(request: Request, mode: MercureMode): string | null {
  const header = request.headers.get("Last-Event-ID");
  if (header) return header;
  const query = new URL(request.url).searchParams;
  if (mode === "draft") return query.get("last_event_id") || null;
  return query.get("lastEventID") || query.get("Last-Event-ID") || null;
}
