/**
 * The `id:` of an event on a multi-channel stream (GET /v1/events?channel=a&channel=b…):
 * `<k>:<c0>.<c1>…`, where k is the index (in the query's channel order) of the channel the
 * event came from and c_i is the last id of channel i written to the stream, this event
 * included. One id therefore resumes every channel: sent back as Last-Event-ID, channel i
 * continues after c_i. A position may be left empty (`0:17..4`): that channel starts at its
 * live end, as on a fresh stream (a client whose set of channels changed sends this). Pure, no I/O.
 */

/** Event ids are below 2^53, written without leading signs or spaces (like single-channel ids). */
const POSITION = /^\d{1,15}$/;

export function formatCursor(channel: number, positions: readonly number[]): string {
  return `${channel}:${positions.join(".")}`;
}

/** The positions of a cursor for `channels` channels, or a sentence saying what is wrong with it. */
export function parseCursor(
  text: string,
  channels: number,
): { positions: (number | undefined)[] } | { problem: string } {
  const colon = text.indexOf(":");
  const index = text.slice(0, colon);
  if (colon < 0 || !POSITION.test(index)) return { problem: "it does not start with <channel index>:" };
  if (Number(index) >= channels)
    return { problem: `channel index ${index} is past the ${channels} channels asked for` };
  const parts = text.slice(colon + 1).split(".");
  if (parts.length !== channels) {
    return {
      problem: `it has ${parts.length} positions for ${channels} channels (the same channels, in the same order)`,
    };
  }
  if (!parts.every((part) => part === "" || POSITION.test(part))) {
    return { problem: "its positions must be whole numbers (or empty)" };
  }
  return { positions: parts.map((part) => (part === "" ? undefined : Number(part))) };
}
