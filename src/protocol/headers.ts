/**
 * Headers on the internal requests the Worker sends to the objects (never
 * seen by browsers). One place, so the two sides cannot disagree.
 */

/** Bridge: the channel a fan-out object serves (a channel object knows its own name: ctx.id.name). */
export const CHANNEL_HEADER = "X-Relay-Channel";
/** Direct mode: replay after this id. Bridge: the subscriber's cursor, to compute where it resumes. */
export const AFTER_HEADER = "X-Relay-After";
/** Direct mode: when the subscriber's token expires (ms since epoch); the stream ends then. */
export const EXPIRES_HEADER = "X-Relay-Expires";
/** Bridge: the fan-out object's name, when attaching to one. */
export const FANOUT_HEADER = "X-Relay-Fanout";
/** Bridge: the subscriber's region (fan-out objects are per region, created near it). */
export const REGION_HEADER = "X-Relay-Region";
/** Whose share the stream counts against (a hash; see src/http/client-key.ts); absent when unknown. */
export const CLIENT_HEADER = "X-Relay-Client";
/** Bridge: a fan-out object the channel sent the Worker to turned out full. */
export const FULL_HEADER = "X-Relay-Fanout-Full";
/** Bridge: the channel's ticket for a stream it sent to a fan-out object (see src/channel/client-shares.ts). */
export const TICKET_HEADER = "X-Relay-Ticket";
/** Bridge: a re-dial's previous ticket (its stream is gone: the object restarted, or was full). */
export const REPLACES_HEADER = "X-Relay-Replaces";
