/**
 * Whose share of a channel a stream counts against, so that no single
 * client can fill MAX_SUBSCRIBERS_PER_CHANNEL and lock everyone else out:
 * the token's subject on a private channel (a token without `sub` falls
 * back to the address), else the connecting address Cloudflare reports
 * (`CF-Connecting-IP`), an IPv6 address by its /64 (one household or
 * office network gets a whole /64). Without either, or from a loopback
 * address (local development and its tests: every stream comes from one
 * address there), nothing is counted.
 *
 * The key sent to the objects is a hash: they keep it with each stream,
 * and need to compare keys, not to know addresses.
 */

export async function clientKeyOf(request: Request, subject: string | null): Promise<string | null> {
  const address = request.headers.get("CF-Connecting-IP");
  const countable = address && !LOOPBACK.test(address.trim());
  const identity = subject !== null ? `sub:${subject}` : countable ? `ip:${networkOf(address)}` : null;
  if (identity === null) return null;
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(identity));
  return [...new Uint8Array(digest).slice(0, 12)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/i;

/** An IPv4 address as is; an IPv6 address by its first 64 bits. */
function networkOf(address: string): string {
  if (!address.includes(":")) return address.trim();
  const [head = "", tail = ""] = address.trim().toLowerCase().split("::");
  const left = head === "" ? [] : head.split(":");
  const right = tail === "" ? [] : tail.split(":");
  const groups = address.includes("::")
    ? [...left, ...Array(8 - left.length - right.length).fill("0"), ...right]
    : left;
  return groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ""))
    .join(":");
}
