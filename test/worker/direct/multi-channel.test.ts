/**
 * Several channels on one stream are served in hibernating mode only (their feeds attach to the
 * channel objects over the bridge): a direct-mode channel in the list is refused with a clear 400.
 * The stream itself is tested in test/worker/hibernating/multi-channel.test.ts.
 */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { BASE, freshChannel } from "../relay-client";

describe("multi-channel streams in direct mode", () => {
  it("refuse direct-mode channels with a 400 naming the channel", async () => {
    const [a, b] = [freshChannel(), freshChannel()];
    const response = await SELF.fetch(`${BASE}/v1/events?channel=${a}&channel=${b}`);
    const body = (await response.json()) as { error: string; message: string };
    expect({ status: response.status, error: body.error }).toEqual({ status: 400, error: "direct_channel" });
    expect(body.message).toContain(a);
  });
});
