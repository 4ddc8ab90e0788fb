import type { ChannelObject } from "./channel/channel-object";
import type { FanoutObject } from "./channel/fanout-object";
import type { RawConfig } from "./config";

/** Bindings and variables the Worker and the objects receive (see wrangler.toml). */
export interface Env extends RawConfig {
  CHANNELS: DurableObjectNamespace<ChannelObject>;
  /** Hibernating mode's fan-out objects for channels past FANOUT_THRESHOLD subscribers. */
  FANOUTS: DurableObjectNamespace<FanoutObject>;
  /** Files in public/: the browser client (/client.js) and the demo page. */
  ASSETS: Fetcher;
}
