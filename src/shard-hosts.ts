/**
 * Shard host patterns: `sse{n}.example.com` with SHARDS=3 stands for
 * sse0.example.com, sse1.example.com and sse2.example.com. The relay's host
 * allow-list (RELAY_HOSTS) and the Custom Domains in wrangler.toml
 * (scripts/shard-domains.ts) both expand patterns here, so they agree; the
 * browser client fills the same placeholder in its `shardHosts` option.
 *
 * No imports: Node scripts load this file directly.
 */

/** Where the shard number goes in a host pattern. */
const SHARD_PLACEHOLDER = "{n}";

/** Most shard hosts a pattern may stand for (each is a Custom Domain to create). */
export const MAX_SHARDS = 100;

/** A DNS hostname in lower case: non-empty labels of letters, digits and inner hyphens. */
export const HOSTNAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/;

function isHostname(host: string): boolean {
  return host.length <= 253 && HOSTNAME.test(host);
}

/** Lower-cases a host entry and drops a trailing dot. */
function normalizeHost(host: string): string {
  return host.trim().toLowerCase().replace(/\.$/, "");
}

/**
 * The hosts one entry stands for: itself, or, when it holds `{n}`, one host
 * per shard 0…shards-1. Returns a problem (for the error message) instead
 * of hosts when the entry cannot be used.
 */
export function expandHostEntry(entry: string, shards: number): { hosts: string[] } | { problem: string } {
  const host = normalizeHost(entry);
  const placeholders = host.split(SHARD_PLACEHOLDER).length - 1;
  if (placeholders > 1) return { problem: `entry "${host}" has ${SHARD_PLACEHOLDER} more than once` };
  if (placeholders === 0) {
    return isHostname(host)
      ? { hosts: [host] }
      : { problem: `entry "${host}" is not a hostname (no scheme, port or path)` };
  }
  if (shards < 1) {
    return { problem: `entry "${host}" has ${SHARD_PLACEHOLDER} but SHARDS is not set (the number of shard hosts)` };
  }
  const hosts = Array.from({ length: shards }, (_, n) => host.replace(SHARD_PLACEHOLDER, String(n)));
  if (!hosts.every(isHostname)) {
    return { problem: `entry "${host}" does not give hostnames when ${SHARD_PLACEHOLDER} is a number` };
  }
  return { hosts };
}
