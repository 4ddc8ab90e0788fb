import type { RawConfig } from "./config";
import type { ChannelObject } from "./channel/channel-object";

/** Bindings and variables the Worker and the channel objects receive (see wrangler.toml). */
export interface Env extends RawConfig {
  CHANNELS: DurableObjectNamespace<ChannelObject>;
  /** Files in public/: the browser client (/client.js) and the demo page. */
  ASSETS: Fetcher;
}
