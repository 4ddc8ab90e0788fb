/**
 * The Worker's side of presence on the bridge (src/channel/presence.ts): a
 * bridged stream hands each text message from its object here. A count
 * becomes a `relay.presence` frame (no id), which replaces one the stream
 * still holds or is written if the stream has room; a
 * "call me back" from a hibernating channel that holds back a change is
 * answered after the delay with one `presenceDue()` request.
 */
import { readPresenceMessage } from "../channel/presence";
import type { BridgeTarget } from "./attach";
import { objectNamed } from "../protocol/stubs";

export function onPresenceMessage(
  text: string,
  target: Pick<BridgeTarget, "channel" | "channels">,
  /** Writes the frame in place of one still queued, or if the stream has room (a later count follows if not). */
  offer: (frame: Uint8Array) => unknown,
  /** Runs `run` after `ms`, unless the stream ends first. */
  after: (ms: number, run: () => void) => void,
): void {
  const message = readPresenceMessage(text);
  if (message === null) return;
  if ("frame" in message) {
    offer(message.frame);
    return;
  }
  after(message.dueInMs, () => {
    const channel = objectNamed(target.channels, target.channel);
    channel.presenceDue().catch(() => {}); // a lost call-back: the next change asks again
  });
}
