/**
 * Channel objects the relay uses for itself (the Mercure hub's log). Their
 * names start with `~`, which is outside the channel-name alphabet: the /v1
 * API can never address them, and nothing from outside (Redis) feeds them.
 */
export const INTERNAL_CHANNEL_PREFIX = "~";

export function isInternalChannel(name: string): boolean {
  return name.startsWith(INTERNAL_CHANNEL_PREFIX);
}
