// @ts-check
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
export const LOST_EVENT = "relay.lost";

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
export const POSITION_EVENT = "relay.position";

/** Name of the relay's subscriber count on presence channels (PRESENCE_CHANNEL_PREFIXES). */
export const PRESENCE_EVENT = "relay.presence";

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
export function shardIndex(channel, shards) {
  if (!shards || shards < 1) return -1;
  let hash = 0x811c9dc5;
  for (let i = 0; i < channel.length; i++) {
    hash ^= channel.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % shards;
}

/**
 * The host name of shard `n`: `shardHosts` filled in, or `s{n}.` before the relay's host.
 * @param {string} relayHost
 * @param {number} n
 * @param {ShardHosts} [shardHosts]
 * @returns {string}
 */
export function shardHost(relayHost, n, shardHosts) {
  let host;
  if (shardHosts === undefined) host = `s${n}.${relayHost}`;
  else if (typeof shardHosts === "function") host = shardHosts(n);
  else if (shardHosts.includes("{n}")) host = shardHosts.replace("{n}", String(n));
  else throw new TypeError(`shardHosts: "${shardHosts}" has no {n} for the shard number`);
  if (!/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(host)) {
    throw new TypeError(`shardHosts: "${host}" is not a host name (no scheme, port or path)`);
  }
  return host;
}

/**
 * The stream URL of a channel: `https://s3.sse.example.com/v1/channels/orders/events`,
 * or `https://sse3.example.com/…` with `shardHosts: "sse{n}.example.com"`.
 * @param {string} relay
 * @param {string} channel
 * @param {{ shards?: number, shardHosts?: ShardHosts | undefined, lastEventId?: string | undefined, token?: string | undefined }} [options]
 * @returns {string}
 */
export function streamUrl(relay, channel, options = {}) {
  const url = new URL(relay);
  const shard = shardIndex(channel, options.shards ?? 0);
  if (shard >= 0) url.hostname = shardHost(url.hostname, shard, options.shardHosts);
  url.pathname = `${url.pathname.replace(/\/+$/, "")}/v1/channels/${encodeURIComponent(channel)}/events`;
  if (options.lastEventId !== undefined) url.searchParams.set("lastEventId", options.lastEventId);
  if (options.token !== undefined) url.searchParams.set("token", options.token);
  return url.toString();
}

/**
 * The URL of one stream carrying several channels (all on one shard host, or none):
 * `https://s3.sse.example.com/v1/events?channel=a&channel=b`.
 * @param {string} relay
 * @param {string[]} channels
 * @param {{ shards?: number, shardHosts?: ShardHosts | undefined, lastEventId?: string | undefined, token?: string | undefined }} [options]
 * @returns {string}
 */
export function multiStreamUrl(relay, channels, options = {}) {
  const url = new URL(relay);
  const shard = shardIndex(channels[0] ?? "", options.shards ?? 0);
  if (shard >= 0) url.hostname = shardHost(url.hostname, shard, options.shardHosts);
  url.pathname = `${url.pathname.replace(/\/+$/, "")}/v1/events`;
  for (const channel of channels) url.searchParams.append("channel", channel);
  if (options.lastEventId !== undefined) url.searchParams.set("lastEventId", options.lastEventId);
  if (options.token !== undefined) url.searchParams.set("token", options.token);
  return url.toString();
}

/**
 * Subscribes to one or several channels.
 * @param {SubscribeOptions} options
 * @returns {Subscription}
 */
export function subscribe(options) {
  const channels = options.channels ?? (options.channel !== undefined ? [options.channel] : []);
  if (channels.length === 0) throw new TypeError("subscribe: give a channel or channels");
  if (options.multiplex) return subscribeMultiplexed(options, [...new Set(channels)]);
  /** @type {Map<string, () => void>} */
  const closers = new Map();
  /** @type {Record<string, string>} */
  const urls = {};
  /** @type {Map<string, string>} */
  const lastIds = new Map();

  for (const channel of channels) {
    urls[channel] = streamUrl(options.relay, channel, { shards: options.shards ?? 0, shardHosts: options.shardHosts });
    const deliver = (/** @type {RelayEvent} */ event) => {
      if (event.id) lastIds.set(channel, event.id);
      dispatch(options, event);
    };
    const open = (/** @type {(event: RelayEvent) => void} */ sink) =>
      openStream(options, channel, () => lastIds.get(channel) ?? options.lastEventId, sink);
    closers.set(
      channel,
      options.shareAcrossTabs && canShare() ? shareStream(options, channel, open, deliver) : open(deliver),
    );
  }

  return {
    urls,
    lastEventId: (channel) => lastIds.get(channel),
    close() {
      for (const close of closers.values()) close();
      closers.clear();
    },
  };
}

/**
 * One EventSource for one channel, reopened if the browser gives up on it;
 * returns its closer.
 * @param {SubscribeOptions} options
 * @param {string} channel
 * @param {() => string | undefined} resumeFrom  the id to resume after when (re)opening
 * @param {(event: RelayEvent) => void} deliver
 * @returns {() => void}
 */
function openStream(options, channel, resumeFrom, deliver) {
  return openSource(
    options,
    [channel],
    (lastEventId, token) =>
      streamUrl(options.relay, channel, {
        shards: options.shards ?? 0,
        shardHosts: options.shardHosts,
        lastEventId,
        token,
      }),
    resumeFrom,
    (type, message) =>
      // The relay's own notices carry no id (EventSource's lastEventId is an earlier event's).
      deliver({ channel, type, id: isNotice(type) ? "" : message.lastEventId, data: message.data }),
  );
}

/**
 * One EventSource, reopened if the browser gives up on it; returns its closer.
 * @param {SubscribeOptions} options
 * @param {string[]} channels  the channels it carries (for onOpen and onError)
 * @param {(lastEventId: string | undefined, token: string | undefined) => string} makeUrl
 * @param {() => string | undefined} resumeFrom  the id to resume after when (re)opening
 * @param {(type: string, message: MessageEvent<string>) => void} receive
 * @returns {() => void}
 */
function openSource(options, channels, makeUrl, resumeFrom, receive) {
  const Source = options.EventSource ?? globalThis.EventSource;
  const types = new Set(["message", ...Object.keys(options.on ?? {})]);
  /** @type {EventSource | undefined} */
  let source;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let retryTimer;
  let failures = 0;
  let stopped = false;

  const connect = () => {
    const token = typeof options.token === "function" ? options.token() : options.token;
    const url = makeUrl(resumeFrom(), token);
    const current = new Source(url, { withCredentials: Boolean(options.withCredentials) });
    source = current;
    for (const type of [...types, LOST_EVENT, PRESENCE_EVENT, POSITION_EVENT]) {
      current.addEventListener(type, (event) => receive(type, /** @type {MessageEvent<string>} */ (event)));
    }
    current.addEventListener("open", () => {
      failures = 0;
      for (const channel of channels) options.onOpen?.(channel);
    });
    current.addEventListener("error", (event) => {
      for (const channel of channels) options.onError?.(channel, event);
      // CLOSED means the browser will not retry (a refusal, not a dropped connection): we do.
      if (current.readyState === 2 && !stopped) {
        failures += 1;
        const delay = Math.min(30_000, 1_000 * 2 ** Math.min(failures - 1, 5)) * (0.5 + Math.random() / 2);
        retryTimer = setTimeout(connect, delay);
      }
    });
  };

  connect();
  return () => {
    stopped = true;
    clearTimeout(retryTimer);
    source?.close();
  };
}

/**
 * @param {SubscribeOptions} options
 * @param {RelayEvent} event
 */
function dispatch(options, event) {
  if (event.type === POSITION_EVENT) return; // its id is recorded; nothing to show
  if (event.type === LOST_EVENT) {
    options.onLost?.(/** @type {LostEvents} */ (parse(event.data)), event.channel);
    return;
  }
  if (event.type === PRESENCE_EVENT) {
    options.onPresence?.(/** @type {Presence} */ (parse(event.data)));
    return;
  }
  options.on?.[event.type]?.(parse(event.data), event);
}

/** @param {string} type  whether it is one of the relay's own notices (no id; the channel in its data) */
function isNotice(type) {
  return type === LOST_EVENT || type === PRESENCE_EVENT;
}

/** @param {string} text */
function parse(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function canShare() {
  return typeof BroadcastChannel === "function" && typeof navigator !== "undefined" && Boolean(navigator.locks);
}

/**
 * Tab sharing: the tab holding the Web Lock for this relay+channel opens the
 * stream and posts each event on a BroadcastChannel; the others listen.
 * When the holder closes, the lock passes to another tab, which resumes from
 * the last id it saw, so nothing is lost in the hand-over.
 * @param {SubscribeOptions} options
 * @param {string} channel
 * @param {(sink: (event: RelayEvent) => void) => () => void} open
 * @param {(event: RelayEvent) => void} deliver
 * @returns {() => void}
 */
function shareStream(options, channel, open, deliver) {
  const key = `sse-relay:${new URL(options.relay).host}:${channel}`;
  const bus = new BroadcastChannel(key);
  const abort = new AbortController();
  let leading = false;
  bus.onmessage = (message) => {
    if (!leading) deliver(/** @type {RelayEvent} */ (message.data));
  };
  navigator.locks
    .request(key, { signal: abort.signal }, async () => {
      leading = true;
      const close = open((event) => {
        deliver(event);
        bus.postMessage(event);
      });
      await new Promise((resolve) => abort.signal.addEventListener("abort", resolve, { once: true }));
      close();
    })
    .catch(() => {}); // aborted while waiting for the lock
  return () => {
    abort.abort();
    bus.close();
  };
}

/**
 * Multiplexed: the channels ride on one stream per shard host. Each event's
 * id is `<k>:<c0>.<c1>…` (k: index of its channel in the stream's URL, c_i:
 * every channel's position); handlers get the channel and its own id. The
 * positions of every channel seen are kept, so a stream reopened for another
 * set of channels resumes each one where it was (a channel never seen starts
 * at its live end). Events are delivered once per channel and id, also
 * when tabs hand the stream over.
 * @param {SubscribeOptions} options
 * @param {string[]} channels
 * @returns {Subscription}
 */
function subscribeMultiplexed(options, channels) {
  const mine = new Set(channels);
  /** Every channel's position, as the relay wrote it in the ids (also channels of other tabs). */
  const positions = new Map();
  /** @type {Map<string, string>} last id delivered per channel */
  const lastIds = new Map();
  /** @param {RelayEvent} event */
  const deliver = (event) => {
    // A resume point's positions were learned with it (they may name channels of other tabs).
    if (!mine.has(event.channel) || event.type === POSITION_EVENT) return;
    if (event.type !== LOST_EVENT) {
      const last = lastIds.get(event.channel);
      if (last !== undefined && Number(event.id) <= Number(last)) return; // already delivered
      lastIds.set(event.channel, event.id);
    }
    dispatch(options, event);
  };
  /** @param {Record<string, string>} known */
  const learn = (known) => {
    for (const [channel, position] of Object.entries(known)) {
      if (Number(position) >= Number(positions.get(channel) ?? -1)) positions.set(channel, position);
    }
  };
  /** Opens streams for `wanted` (grouped by shard host); `sink` gets each event and every position. */
  const openAll = (
    /** @type {string[]} */ wanted,
    /** @type {(event: RelayEvent, known: Record<string, string>) => void} */ sink,
  ) => {
    const closers = streamGroups(options, wanted).map((group) => openMultiplexed(options, group, positions, sink));
    return () => {
      for (const close of closers) close();
    };
  };
  /** @type {Record<string, string>} */
  const urls = {};
  for (const group of streamGroups(options, channels)) {
    const url = multiStreamUrl(options.relay, group, { shards: options.shards ?? 0, shardHosts: options.shardHosts });
    for (const channel of group) urls[channel] = url;
  }
  const close =
    options.shareAcrossTabs && canShare()
      ? shareMultiplexed(options, channels, openAll, learn, deliver)
      : openAll(channels, (event, known) => {
          learn(known);
          deliver(event);
        });
  return { urls, lastEventId: (channel) => lastIds.get(channel), close };
}

/**
 * Channels grouped by shard host, at most maxChannelsPerStream per group, in a stable order.
 * @param {SubscribeOptions} options
 * @param {string[]} channels
 * @returns {string[][]}
 */
function streamGroups(options, channels) {
  const max = options.maxChannelsPerStream ?? 16;
  /** @type {Map<number, string[]>} */
  const byShard = new Map();
  for (const channel of [...channels].sort()) {
    const shard = shardIndex(channel, options.shards ?? 0);
    byShard.set(shard, [...(byShard.get(shard) ?? []), channel]);
  }
  const groups = [];
  for (const group of byShard.values()) {
    for (let start = 0; start < group.length; start += max) groups.push(group.slice(start, start + max));
  }
  return groups;
}

/**
 * One multiplexed EventSource for `group`, resuming each channel from `positions`.
 * @param {SubscribeOptions} options
 * @param {string[]} group
 * @param {Map<string, string>} positions
 * @param {(event: RelayEvent, known: Record<string, string>) => void} sink
 * @returns {() => void}
 */
function openMultiplexed(options, group, positions, sink) {
  const resumeFrom = () => {
    const cursor = group.map((channel) => positions.get(channel) ?? options.lastEventId ?? "");
    return cursor.every((position) => position === "") ? undefined : `0:${cursor.join(".")}`;
  };
  return openSource(
    options,
    group,
    (lastEventId, token) =>
      multiStreamUrl(options.relay, group, {
        shards: options.shards ?? 0,
        shardHosts: options.shardHosts,
        lastEventId,
        token,
      }),
    resumeFrom,
    (type, message) => {
      if (isNotice(type)) {
        // The relay names the channel in its own notice's data.
        const channel = /** @type {{ channel?: string }} */ (parse(message.data)).channel ?? "";
        sink({ channel, type, id: "", data: message.data }, {});
        return;
      }
      const [index, rest] = message.lastEventId.split(":");
      const cursor = (rest ?? "").split(".");
      const channel = group[Number(index)];
      if (channel === undefined || cursor.length !== group.length) return;
      /** @type {Record<string, string>} */
      const known = {};
      group.forEach((name, n) => {
        if (cursor[n] !== "") known[name] = /** @type {string} */ (cursor[n]);
      });
      sink({ channel, type, id: known[channel] ?? "", data: message.data }, known);
    },
  );
}

/**
 * Tab sharing, multiplexed: the tab holding the Web Lock for this relay opens
 * the streams for the union of the channels every tab wants (each tab says
 * which on a BroadcastChannel) and posts each event with every position; a
 * tab delivers the events of its own channels. When the union changes the
 * leader reopens its streams, resuming every channel where it was; when the
 * leader closes, the next tab takes the lock and resumes from the positions
 * it heard. A tab that vanishes without closing keeps its channels in the
 * union until the leader changes.
 * @param {SubscribeOptions} options
 * @param {string[]} channels
 * @param {(wanted: string[], sink: (event: RelayEvent, known: Record<string, string>) => void) => () => void} openAll
 * @param {(known: Record<string, string>) => void} learn
 * @param {(event: RelayEvent) => void} deliver
 * @returns {() => void}
 */
function shareMultiplexed(options, channels, openAll, learn, deliver) {
  const key = `sse-relay:${new URL(options.relay).host}:multiplexed`;
  const tab = Math.random().toString(36).slice(2);
  const bus = new BroadcastChannel(key);
  const abort = new AbortController();
  /** @type {Map<string, string[]>} channels wanted, by tab (the leader's view) */
  const wants = new Map([[tab, channels]]);
  /** @type {(() => void) | null} set while this tab leads */
  let onWantsChanged = null;
  const announce = () => bus.postMessage({ t: "want", tab, channels });
  bus.onmessage = (message) => {
    const data = message.data;
    if (data.t === "event") {
      learn(data.known);
      deliver(data.event);
    } else if (data.t === "who") announce();
    else if (data.t === "want" || data.t === "bye") {
      if (data.t === "want") wants.set(data.tab, data.channels);
      else wants.delete(data.tab);
      onWantsChanged?.();
    }
  };
  announce();
  navigator.locks
    .request(key, { signal: abort.signal }, async () => {
      let union = "";
      let close = () => {};
      /** @type {ReturnType<typeof setTimeout> | undefined} */
      let pending;
      const reopen = () => {
        const wanted = [...new Set([...wants.values()].flat())].sort();
        if (wanted.join("\n") === union) return;
        union = wanted.join("\n");
        close();
        close = openAll(wanted, (event, known) => {
          learn(known);
          deliver(event);
          bus.postMessage({ t: "event", event, known });
        });
      };
      // Several tabs answering at once change the union once.
      onWantsChanged = () => {
        clearTimeout(pending);
        pending = setTimeout(reopen, 50);
      };
      // Only live tabs answer: a tab that vanished without closing leaves the union here.
      for (const other of [...wants.keys()]) if (other !== tab) wants.delete(other);
      bus.postMessage({ t: "who" });
      reopen();
      await new Promise((resolve) => abort.signal.addEventListener("abort", resolve, { once: true }));
      onWantsChanged = null;
      clearTimeout(pending);
      close();
    })
    .catch(() => {}); // aborted while waiting for the lock
  return () => {
    abort.abort();
    bus.postMessage({ t: "bye", tab });
    bus.close();
  };
}
