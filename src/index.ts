/**
 * Worker entry point: the Hono app serves HTTP; ChannelObject is the
 * Durable Object class bound as CHANNELS in wrangler.toml.
 */
import { createApp } from "./app";

export { ChannelObject } from "./channel/channel-object";

export default createApp();
