# workerd configuration of the split-process relay (bench/systems/relay-split.ts):
# the objects' process (objectsConfig: ChannelObject and FanoutObject with a
# forwarding entrypoint, objects-entry.js) and the Worker's process
# (workerConfig: the relay's Worker, whose CHANNELS and FANOUTS reach the
# objects' process over a real socket, worker-entry.js). Each is run as
# `workerd serve split.capnp <const>`; the harness fills in __NAME__.
using Workerd = import "/workerd/workerd.capnp";

const objectsConfig :Workerd.Config = (
  services = [
    (name = "objects", worker = .objects),
    (name = "channel-storage", disk = (path = "__STORAGE__", writable = true)),
  ],
  sockets = [
    (name = "objects", address = "127.0.0.1:__OBJECTS_PORT__", http = (), service = "objects"),
  ],
);

const objects :Workerd.Worker = (
  modules = [
    (name = "objects-entry.js", esModule = embed "objects-entry.js"),
    (name = "index.js", esModule = embed "index.js"),
    (name = "rpc-json.js", esModule = embed "rpc-json.js"),
  ],
  compatibilityDate = "__COMPATIBILITY_DATE__",
  compatibilityFlags = [__COMPATIBILITY_FLAGS__],
  bindings = [
    (name = "CHANNELS", durableObjectNamespace = "ChannelObject"),
    (name = "FANOUTS", durableObjectNamespace = "FanoutObject"),
__VARS__
  ],
  durableObjectNamespaces = [
    (className = "ChannelObject", uniqueKey = "sse-relay-ChannelObject", enableSql = true),
    (className = "FanoutObject", uniqueKey = "sse-relay-FanoutObject", enableSql = true),
  ],
  durableObjectStorage = (localDisk = "channel-storage"),
);

const workerConfig :Workerd.Config = (
  services = [
    (name = "relay", worker = .worker),
    (name = "objects-process", external = (address = "127.0.0.1:__OBJECTS_PORT__", http = ())),
  ],
  sockets = [
    (name = "http", address = "127.0.0.1:__PORT__", http = (), service = "relay"),
  ],
);

const worker :Workerd.Worker = (
  modules = [
    (name = "worker-entry.js", esModule = embed "worker-entry.js"),
    (name = "index.js", esModule = embed "index.js"),
    (name = "rpc-json.js", esModule = embed "rpc-json.js"),
  ],
  compatibilityDate = "__COMPATIBILITY_DATE__",
  compatibilityFlags = [__COMPATIBILITY_FLAGS__],
  bindings = [
    (name = "OBJECTS", service = "objects-process"),
__VARS__
  ],
);
