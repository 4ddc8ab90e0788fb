// @ts-nocheck -- runs inside workerd next to the relay's bundle (./index.js), which exists only at bench time.
/**
 * The Worker's process of the split-process relay (bench/systems/relay-split.ts):
 * the relay's Worker unchanged, given CHANNELS and FANOUTS stand-ins whose stubs
 * send every call over the OBJECTS service (an external HTTP service: the
 * objects' workerd process, bench/servers/split/objects-entry.js).
 */
import relay from "./index.js";
import { decode, encode } from "./rpc-json.js";

const wrapped = new WeakMap();

/** The same env object every time (the relay memoizes its parsed config per env object). */
function envWithRemoteObjects(env) {
  let found = wrapped.get(env);
  if (!found) {
    found = {
      ...env,
      CHANNELS: remoteNamespace(env.OBJECTS, "CHANNELS"),
      FANOUTS: remoteNamespace(env.OBJECTS, "FANOUTS"),
    };
    wrapped.set(env, found);
  }
  return found;
}

function remoteNamespace(objects, namespace) {
  return {
    idFromName: (name) => ({ name, toString: () => name, equals: (other) => other?.name === name }),
    get: (id, options = {}) => remoteStub(objects, namespace, id.name, options.locationHint),
  };
}

function remoteStub(objects, namespace, name, locationHint) {
  const headersFor = (method) => {
    const headers = { "X-Bench-Namespace": namespace, "X-Bench-Object": name, "X-Bench-Method": method };
    if (locationHint) headers["X-Bench-Location-Hint"] = locationHint;
    return headers;
  };
  const stub = {
    fetch: (input, init) => {
      const request = new Request(input, init);
      const headers = new Headers(request.headers);
      for (const [key, value] of Object.entries(headersFor("fetch"))) headers.set(key, value);
      headers.set("X-Bench-Url", request.url);
      return objects.fetch(new Request("http://objects/", { method: request.method, headers, body: request.body }));
    },
  };
  return new Proxy(stub, {
    get: (target, method) =>
      method in target || typeof method !== "string" || method === "then"
        ? target[method]
        : async (...args) => {
            const response = await objects.fetch("http://objects/", {
              method: "POST",
              headers: headersFor(method),
              body: encode(args),
            });
            const answer = decode(await response.text());
            if (answer.error !== undefined) throw new Error(answer.error);
            return answer.value;
          },
  });
}

export default {
  fetch: (request, env, ctx) => relay.fetch(request, envWithRemoteObjects(env), ctx),
};
