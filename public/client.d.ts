/**
 * @typedef {object} Presence
 * @property {string} channel
 * @property {number} subscribers  streams open on the channel (this one included)
 */
/**
 * @typedef {object} RelayEvent
 * @property {string} channel
 * @property {string} type        event name ("message" when unnamed)
 * @property {string} id          the event id (EventSource lastEventId)
 * @property {string} data        raw data text
 */
/**
 * @callback EventHandler
 * @param {unknown} data          JSON-parsed data when it parses, else the raw text
 * @param {RelayEvent} event
 * @returns {void}
 */
/**
 * @typedef {object} SubscribeOptions
 * @property {string} relay                 base URL of the relay, e.g. "https://sse.example.com"
 * @property {string} [channel]             one channel, or
 * @property {string[]} [channels]          or several (one stream each, spread over shards; see multiplex)
 * @property {boolean} [multiplex]          carry `channels` on one stream per shard host (GET /v1/events;
 *                                          not for channels the relay serves in direct mode)
 * @property {number} [maxChannelsPerStream]  the relay's MAX_CHANNELS_PER_STREAM (default 16): more channels
 *                                          on one host take several streams
 * @property {number} [shards]              number of shard hosts (0: none, every stream on the relay's host)
 * @property {ShardHosts} [shardHosts]      names of the shard hosts (default: s0…s{N-1} subdomains of the relay's host)
 * @property {Record<string, EventHandler>} [on]  handlers by event name; "message" for unnamed events
 * @property {(info: LostEvents, channel: string) => void} [onLost]  events were lost: reload state from your app
 * @property {(presence: Presence) => void} [onPresence]  how many are watching (presence channels only)
 * @property {(channel: string) => void} [onOpen]
 * @property {(channel: string, event: Event) => void} [onError]  connection trouble (EventSource retries on its own)
 * @property {string} [lastEventId]         resume after this id on the first connect ("0": everything retained); with several channels it applies to each (ids are per channel: "0" is the value that means the same everywhere)
 * @property {boolean} [withCredentials]    send cookies (the relay must allow credentials for your origin)
 * @property {string | (() => string)} [token]  subscriber token for private channels, sent as ?token=
 *                                          (prefer a cookie: URLs reach logs; see docs/SECURITY.md);
 *                                          a function is asked again on every reconnect the client makes
 * @property {boolean} [shareAcrossTabs]    one connection per channel (multiplexed: per shard host, for the
 *                                          union of every tab's channels) for all tabs of this origin
 * @property {typeof EventSource} [EventSource]  an EventSource implementation (default: the browser's)
 */
/**
 * Shard host names: a template whose `{n}` is replaced by the shard number
 * ("sse{n}.example.com" gives sse0.example.com, sse1.example.com, …), or a
 * function of the number. The relay's RELAY_HOSTS must list the same hosts.
 * @typedef {string | ((n: number) => string)} ShardHosts
 */
/**
 * @typedef {object} Subscription
 * @property {() => void} close             stops every stream of this subscription
 * @property {Record<string, string>} urls  stream URL per channel (multiplexed: of the stream carrying it)
 * @property {(channel: string) => string | undefined} lastEventId  last id seen on a channel
 */
/**
 * Shard index of a channel: FNV-1a hash of its name modulo `shards`, so a
 * channel always lands on the same host (and the browser's per-host
 * connection cap applies per shard).
 * @param {string} channel
 * @param {number} shards
 * @returns {number}
 */
export function shardIndex(channel: string, shards: number): number;
/**
 * The host name of shard `n`: `shardHosts` filled in, or `s{n}.` before the relay's host.
 * @param {string} relayHost
 * @param {number} n
 * @param {ShardHosts} [shardHosts]
 * @returns {string}
 */
export function shardHost(relayHost: string, n: number, shardHosts?: ShardHosts): string;
/**
 * The stream URL of a channel: `https://s3.sse.example.com/v1/channels/orders/events`,
 * or `https://sse3.example.com/…` with `shardHosts: "sse{n}.example.com"`.
 * @param {string} relay
 * @param {string} channel
 * @param {{ shards?: number, shardHosts?: ShardHosts | undefined, lastEventId?: string | undefined, token?: string | undefined }} [options]
 * @returns {string}
 */
export function streamUrl(relay: string, channel: string, options?: {
    shards?: number;
    shardHosts?: ShardHosts | undefined;
    lastEventId?: string | undefined;
    token?: string | undefined;
}): string;
/**
 * The URL of one stream carrying several channels (all on one shard host, or none):
 * `https://s3.sse.example.com/v1/events?channel=a&channel=b`.
 * @param {string} relay
 * @param {string[]} channels
 * @param {{ shards?: number, shardHosts?: ShardHosts | undefined, lastEventId?: string | undefined, token?: string | undefined }} [options]
 * @returns {string}
 */
export function multiStreamUrl(relay: string, channels: string[], options?: {
    shards?: number;
    shardHosts?: ShardHosts | undefined;
    lastEventId?: string | undefined;
    token?: string | undefined;
}): string;
/**
 * Subscribes to one or several channels.
 * @param {SubscribeOptions} options
 * @returns {Subscription}
 */
export function subscribe(options: SubscribeOptions): Subscription;
/**
 * sse-relay browser client: a tiny, dependency-free ES module.
 *
 *   import { subscribe } from "https://sse.example.com/client.js";
 *   const sub = subscribe({
 *     relay: "https://sse.example.com",
 *     channel: "orders-42",
 *     shards: 8,                      // spread streams over 8 shard hosts:
 *     shardHosts: "sse{n}.example.com", // sse0…sse7.example.com (default: s0…s7.sse.example.com)
 *     on: { "order-shipped": (data, event) => console.log(data) },
 *     onLost: (info) => location.reload(),
 *   });
 *   sub.close();
 *
 * It leans on EventSource for reconnection and Last-Event-ID; it only builds
 * the URL, picks the shard host, routes named events to handlers and
 * surfaces the relay's `relay.lost` signal. Where EventSource gives up for
 * good (the relay refused the connection: a full channel, an expired token,
 * a CORS error), the client opens a new one after a growing, jittered delay,
 * resuming from the last id it saw. With `shareAcrossTabs: true`,
 * tabs of one origin share one connection per channel (Web Locks elect the
 * tab that holds it; BroadcastChannel hands events to the others).
 * With `multiplex: true`, `channels` ride on one stream per shard host
 * (GET /v1/events?channel=a&channel=b, at most `maxChannelsPerStream` each);
 * the client reads the positional ids and hands handlers each channel's own
 * id. Shared across tabs, the leader tab holds the streams for the union of
 * every tab's channels and reopens them, resuming, when the union changes.
 */
/** Name of the relay's "you missed events" signal. */
export const LOST_EVENT: "relay.lost";
/**
 * @typedef {object} LostEvents
 * @property {"history-pruned" | "unknown-id"} reason
 * @property {string} lastEventId        the id the stream resumed from
 * @property {string | null} firstAvailableId  oldest event still retained
 */
/**
 * Name of the relay's resume point: every stream starts with one (its id is where the stream
 * starts), so a stream that ends before its first event still resumes where it was. The client
 * records its id as the channel's last id; no handler sees it.
 */
export const POSITION_EVENT: "relay.position";
/** Name of the relay's subscriber count on presence channels (PRESENCE_CHANNEL_PREFIXES). */
export const PRESENCE_EVENT: "relay.presence";
export type Presence = {
    channel: string;
    /**
     * streams open on the channel (this one included)
     */
    subscribers: number;
};
export type RelayEvent = {
    channel: string;
    /**
     * event name ("message" when unnamed)
     */
    type: string;
    /**
     * the event id (EventSource lastEventId)
     */
    id: string;
    /**
     * raw data text
     */
    data: string;
};
export type EventHandler = (data: unknown, event: RelayEvent) => void;
export type SubscribeOptions = {
    /**
     * base URL of the relay, e.g. "https://sse.example.com"
     */
    relay: string;
    /**
     * one channel, or
     */
    channel?: string | undefined;
    /**
     * or several (one stream each, spread over shards; see multiplex)
     */
    channels?: string[] | undefined;
    /**
     * carry `channels` on one stream per shard host (GET /v1/events;
     *           not for channels the relay serves in direct mode)
     */
    multiplex?: boolean | undefined;
    /**
     * the relay's MAX_CHANNELS_PER_STREAM (default 16): more channels
     * on one host take several streams
     */
    maxChannelsPerStream?: number | undefined;
    /**
     * number of shard hosts (0: none, every stream on the relay's host)
     */
    shards?: number | undefined;
    /**
     * names of the shard hosts (default: s0…s{N-1} subdomains of the relay's host)
     */
    shardHosts?: ShardHosts | undefined;
    /**
     * handlers by event name; "message" for unnamed events
     */
    on?: Record<string, EventHandler> | undefined;
    /**
     * events were lost: reload state from your app
     */
    onLost?: ((info: LostEvents, channel: string) => void) | undefined;
    /**
     * how many are watching (presence channels only)
     */
    onPresence?: ((presence: Presence) => void) | undefined;
    onOpen?: ((channel: string) => void) | undefined;
    /**
     * connection trouble (EventSource retries on its own)
     */
    onError?: ((channel: string, event: Event) => void) | undefined;
    /**
     * resume after this id on the first connect ("0": everything retained); with several channels it applies to each (ids are per channel: "0" is the value that means the same everywhere)
     */
    lastEventId?: string | undefined;
    /**
     * send cookies (the relay must allow credentials for your origin)
     */
    withCredentials?: boolean | undefined;
    /**
     * subscriber token for private channels, sent as ?token=
     * (prefer a cookie: URLs reach logs; see docs/SECURITY.md);
     * a function is asked again on every reconnect the client makes
     */
    token?: string | (() => string) | undefined;
    /**
     * one connection per channel (multiplexed: per shard host, for the
     *     union of every tab's channels) for all tabs of this origin
     */
    shareAcrossTabs?: boolean | undefined;
    /**
     * an EventSource implementation (default: the browser's)
     */
    EventSource?: {
        new (url: string | URL, eventSourceInitDict?: EventSourceInit): EventSource;
        prototype: EventSource;
        readonly CONNECTING: 0;
        readonly OPEN: 1;
        readonly CLOSED: 2;
    } | undefined;
};
/**
 * Shard host names: a template whose `{n}` is replaced by the shard number
 * ("sse{n}.example.com" gives sse0.example.com, sse1.example.com, …), or a
 * function of the number. The relay's RELAY_HOSTS must list the same hosts.
 */
export type ShardHosts = string | ((n: number) => string);
export type Subscription = {
    /**
     * stops every stream of this subscription
     */
    close: () => void;
    /**
     * stream URL per channel (multiplexed: of the stream carrying it)
     */
    urls: Record<string, string>;
    /**
     * last id seen on a channel
     */
    lastEventId: (channel: string) => string | undefined;
};
export type LostEvents = {
    reason: "history-pruned" | "unknown-id";
    /**
     * the id the stream resumed from
     */
    lastEventId: string;
    /**
     * oldest event still retained
     */
    firstAvailableId: string | null;
};
