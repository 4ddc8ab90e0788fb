/**
 * Facts of the Mercure protocol this hub speaks, written once:
 * - `draft`: draft-dunglas-mercure-08 as its final text has it
 *   (dunglas/mercure spec/mercure.md; `match`, `match_exact`,
 *   `match_urlpattern` selectors, a canonical topic and alternate topics per
 *   update, RFC 9068 access tokens with `authorization_details`);
 * - `legacy`: the pre-standard protocol of today's hub releases and publisher
 *   libraries (`topic=` selectors with URI templates, several topics per
 *   update, the `mercure` JWT claim, the `mercureAuthorization` cookie and the
 *   `authorization` query parameter).
 * The mode is a setting (MERCURE_PROTOCOL), so its type lives in src/config.
 */
import type { MercureMode } from "../config";

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

/** C0 (U+0000–U+001F), DEL (U+007F) and C1 (U+0080–U+009F): refused in pre-standard topics and selectors. */
export function hasControlCharacter(text: string): boolean {
  for (let index = 0; index < text.length; index++) {
    const unit = text.charCodeAt(index);
    if (unit <= 0x1f || (unit >= 0x7f && unit <= 0x9f)) return true;
  }
  return false;
}

/** Unicode format characters (general category Cf: bidirectional and zero-width controls, U+00AD, U+FEFF…). */
const FORMAT_CHARACTER = /\p{Cf}/u;

/**
 * What draft-08 refuses in topics, matcher values, update ids and types (§Terminology,
 * §Subscription, §Publication): C0, DEL, C1 and Unicode format characters (Cf), which are
 * invisible and enable identifier spoofing. Cf as the runtime's Unicode version has it (the draft
 * cites Unicode 17.0 and lets hubs refuse characters later versions add to Cf).
 */
export function hasForbiddenCharacter(text: string): boolean {
  return hasControlCharacter(text) || FORMAT_CHARACTER.test(text);
}

/** The event type the hub keeps for the events it makes itself; publishers may not use it (draft-08 §Publication). */
export const RESERVED_TYPE = "mercure";

/**
 * True if `topic`, resolved as a URL reference against the hub's URL, has the
 * hub's path or one under it, whatever its scheme or authority (draft-08
 * §Publication, §Reserved Hub Namespace). Before the comparison the path's
 * percent-encoded unreserved octets are decoded and its dot segments
 * removed, so `/.well-known/%6Dercure/x`, `/%2Ewell-known/mercure` and
 * `/.well-known/mercure/../mercure/x` are caught too. A topic that is no URL
 * reference cannot name a hub path.
 */
export function isReservedTopic(topic: string, hubUrl: URL): boolean {
  let path: string;
  try {
    path = new URL(topic, hubUrl).pathname;
  } catch {
    return false;
  }
  path = removeDotSegments(decodeUnreserved(path));
  const hubPath = hubUrl.pathname;
  return path === hubPath || path.startsWith(`${hubPath}/`);
}

/** RFC 3986 §6.2.2.2: `%XX` that encodes an unreserved character (ALPHA, DIGIT, - . _ ~) is that character. */
function decodeUnreserved(path: string): string {
  return path.replace(/%([0-9A-Fa-f]{2})/g, (encoded, hex: string) => {
    const character = String.fromCharCode(Number.parseInt(hex, 16));
    return /^[A-Za-z0-9\-._~]$/.test(character) ? character : encoded;
  });
}

/** RFC 3986 §5.2.4, for an absolute path (the URL parser's output; decoding may leave new `.` or `..`). */
function removeDotSegments(path: string): string {
  const segments = path.split("/");
  const out: string[] = [];
  segments.forEach((segment, index) => {
    const last = index === segments.length - 1;
    if (segment === "." || segment === "..") {
      if (segment === ".." && out.length > 1) out.pop();
      if (last) out.push("");
    } else {
      out.push(segment);
    }
  });
  return out.join("/");
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
