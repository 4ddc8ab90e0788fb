/**
 * The Worker's side of attaching to an object (see src/protocol/bridge-protocol.ts):
 * the upgrade request, the redirect to a fan-out object, the hello, and the
 * subscriber's region, which names the fan-out objects it is sent to.
 */
import { BRIDGE_PROTOCOL, decodeControl, type Hello, type Redirect } from "../protocol/bridge-protocol";
import {
  AFTER_HEADER,
  CHANNEL_HEADER,
  CLIENT_HEADER,
  FANOUT_HEADER,
  FULL_HEADER,
  REGION_HEADER,
  REPLACES_HEADER,
  TICKET_HEADER,
} from "../protocol/headers";
import { channelFull } from "../protocol/refusals";
import type { ChannelObject } from "../objects/channel-object";
import type { FanoutObject } from "../objects/fanout-object";
import type { Logger } from "../log";
import { objectNamed } from "../protocol/stubs";

export interface BridgeTarget {
  readonly channel: string;
  /** Whose share of the channel this stream counts against; null when unknown. */
  readonly client: string | null;
  /** Where the subscriber is (fan-out objects are per region); "any" when unknown. */
  readonly region: string;
  readonly channels: DurableObjectNamespace<ChannelObject>;
  readonly fanouts: DurableObjectNamespace<FanoutObject>;
  /** Lines about this stream carry the channel and the request id. */
  readonly log: Logger;
}

/**
 * An attached socket, the object's hello, the channel's redirect if a fan-out object holds it, and
 * `early()`: the messages that came after the hello before the caller listened (a resume's first
 * page among them), handed over once, so none is missed whatever the timing.
 */
export type Upstream = {
  socket: WebSocket;
  hello: Hello;
  redirect: Redirect | null;
  early(): MessageEvent["data"][];
};

/**
 * Attaches to the channel object, or to the fan-out object it names: the
 * socket and the object's hello, the object's refusal to pass on (503
 * channel_full, 429…), or null if the object predates the bridge.
 * `replaces`: a re-dial's previous ticket (the redirect's), so the channel
 * stops counting the stream it replaces (src/channel/client-shares.ts).
 */
export async function attach(
  target: BridgeTarget,
  after: number | undefined,
  maxSubscribers: number,
  replaces?: string,
): Promise<Upstream | Response | null> {
  const channel = objectNamed(target.channels, target.channel);
  let full: string | null = null;
  let previous = replaces;
  for (let attempt = 0; attempt < 3; attempt++) {
    const headers = attachHeaders(target);
    if (after !== undefined) headers.set(AFTER_HEADER, String(after));
    if (full !== null) headers.set(FULL_HEADER, full);
    if (previous !== undefined) headers.set(REPLACES_HEADER, previous);
    const response = await channel.fetch("https://channel/attach", { headers });
    if (response.webSocket) return { ...(await helloOf(response.webSocket)), redirect: null };
    // An object from before the bridge knows no /attach (404); a newer one names the versions it speaks.
    if (response.status === 404 || (response.status === 400 && response.headers.has("X-Relay-Protocols"))) {
      await response.body?.cancel();
      return null;
    }
    if (response.status !== 200) return response;
    const redirect = decodeControl(await response.text()) as Redirect;
    const fanoutHeaders = attachHeaders(target);
    fanoutHeaders.set(FANOUT_HEADER, redirect.fanout);
    if (redirect.ticket !== undefined) fanoutHeaders.set(TICKET_HEADER, redirect.ticket);
    const fanout = objectNamed(target.fanouts, redirect.fanout, redirect.locationHint);
    const attached = await fanout.fetch("https://fanout/attach", { headers: fanoutHeaders });
    if (attached.webSocket) return { ...(await helloOf(attached.webSocket)), redirect };
    if (attached.status !== 503) return attached;
    full = redirect.fanout;
    previous = redirect.ticket;
    await attached.body?.cancel();
  }
  return channelFull(maxSubscribers);
}

function attachHeaders(target: BridgeTarget): Headers {
  const headers = new Headers({
    Upgrade: "websocket",
    "Sec-WebSocket-Protocol": BRIDGE_PROTOCOL,
    [CHANNEL_HEADER]: target.channel,
    [REGION_HEADER]: target.region,
  });
  if (target.client !== null) headers.set(CLIENT_HEADER, target.client);
  return headers;
}

/** Accepts the Worker's end and waits for the object's hello; keeps what follows until taken. */
function helloOf(socket: WebSocket): Promise<Omit<Upstream, "redirect">> {
  return new Promise((resolve, reject) => {
    const buffered: MessageEvent["data"][] = [];
    const keep = (event: MessageEvent) => buffered.push(event.data);
    const early = () => {
      socket.removeEventListener("message", keep);
      return buffered.splice(0);
    };
    const onMessage = (event: MessageEvent) => {
      socket.removeEventListener("message", onMessage);
      try {
        const hello = decodeControl(String(event.data));
        if (hello.t !== "hello") throw new TypeError("expected hello");
        socket.addEventListener("message", keep);
        resolve({ socket, hello, early });
      } catch (error) {
        reject(error);
      }
    };
    socket.binaryType = "arraybuffer";
    socket.addEventListener("message", onMessage);
    socket.addEventListener("close", () => reject(new Error("closed before hello")));
    socket.accept();
  });
}

/**
 * The subscriber's region, from Cloudflare's request data: fan-out objects
 * are per region and created there (a location hint only applies when an
 * object is created, so the region is part of its name). "any" locally.
 */
export function regionOf(request: Request): string {
  const cf = request.cf as { continent?: string; longitude?: string } | undefined;
  switch (cf?.continent) {
    case "NA":
      return Number(cf.longitude) < -100 ? "wnam" : "enam";
    case "SA":
      return "sam";
    case "EU":
      return Number(cf.longitude) > 20 ? "eeur" : "weur";
    case "AS":
      return "apac";
    case "OC":
      return "oc";
    case "AF":
      return "afr";
    default:
      return "any";
  }
}
