/**
 * Worker entry point: the Hono app serves HTTP; ChannelObject (one per
 * channel) and FanoutObject (hot channels' fan-out) are the Durable Object
 * classes bound as CHANNELS and FANOUTS in wrangler.toml.
 */
import { createApp } from "./routes/app";

export { ChannelObject } from "./objects/channel-object";
export { FanoutObject } from "./objects/fanout-object";

export default createApp();
