# workerd configuration for the relay as production runs it: the Worker
# and its Durable Objects (ChannelObject with SQLite storage, FanoutObject)
# in one workerd process, no wrangler dev proxy in front. bench/systems/relay-workerd.ts
# fills in the __NAME__ placeholders and runs `workerd serve <this file>`.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "relay", worker = .relay),
    (name = "channel-storage", disk = (path = "__STORAGE__", writable = true)),
  ],
  sockets = [
    (name = "http", address = "127.0.0.1:__PORT__", http = (), service = "relay"),
  ],
  # Empty unless BENCH_WORKERD_V8_FLAGS is set (e.g. --perf-basic-prof for profiling).
  v8Flags = [__V8_FLAGS__],
);

const relay :Workerd.Worker = (
  # The bundle `wrangler deploy --dry-run` produces: what would be uploaded.
  modules = [ (name = "index.js", esModule = embed "index.js") ],
  compatibilityDate = "__COMPATIBILITY_DATE__",
  compatibilityFlags = [__COMPATIBILITY_FLAGS__],
  bindings = [
    (name = "CHANNELS", durableObjectNamespace = "ChannelObject"),
    (name = "FANOUTS", durableObjectNamespace = "FanoutObject"),
__VARS__
  ],
  # wrangler.toml's migrations declare both classes in new_sqlite_classes.
  durableObjectNamespaces = [
    (className = "ChannelObject", uniqueKey = "sse-relay-ChannelObject", enableSql = true),
    (className = "FanoutObject", uniqueKey = "sse-relay-FanoutObject", enableSql = true),
  ],
  durableObjectStorage = (localDisk = "channel-storage"),
);
