/**
 * The client module's onPresence in Chromium: a page on its own origin imports public/client.js from
 * the relay and shows how many are watching a presence channel, while other subscribers (Node's
 * eventsource client) come and go; the page's fetch of the presence read works cross-origin.
 */
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PRESENCE_EVENT } from "../../public/client.js";
import { PRESENCE_EVENT_NAME } from "../../src/channel/presence";
import { launchChromium, startPageServer, type PageServer } from "../support/browser";
import { listen, until } from "../support/sse-client";
import { startRelay, type RelayProcess } from "../support/wrangler-dev";

let browser: Browser;
let pages: PageServer;
let relay: RelayProcess;

beforeAll(async () => {
  pages = await startPageServer();
  relay = await startRelay({
    ALLOWED_ORIGINS: pages.origin("app"),
    PRESENCE_CHANNEL_PREFIXES: "room-",
    PRESENCE_INTERVAL_MS: "500",
    HEARTBEAT_MS: "1000",
  });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await relay?.dispose();
  await pages?.close();
});

const relayBase = () => `http://localhost:${relay.port}`;

async function watchInPage(channel: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`${pages.origin("app")}/`);
  // A string, not a function: the test runner would rewrite a dynamic import() inside a function.
  await page.evaluate(`(async () => {
    const client = await import(${JSON.stringify(`${relayBase()}/client.js`)});
    globalThis.seen = [];
    globalThis.sub = client.subscribe({
      relay: ${JSON.stringify(relayBase())},
      channel: ${JSON.stringify(channel)},
      onPresence: (presence) => globalThis.seen.push(presence),
    });
  })()`);
  return page;
}

const seen = (page: Page) =>
  page.evaluate(() => (globalThis as unknown as { seen: { channel: string; subscribers: number }[] }).seen);

describe("client module: onPresence", () => {
  it("names the same event the relay sends", () => {
    expect(PRESENCE_EVENT).toBe(PRESENCE_EVENT_NAME);
  });

  it("shows the count as others join and leave, and the page can read it cross-origin", async () => {
    const channel = `room-${Date.now()}`;
    const page = await watchInPage(channel);
    const latest = async () => (await seen(page)).at(-1)?.subscribers;
    await until(async () => (await latest()) === 1);
    const others = [listen(relay.url, channel), listen(relay.url, channel)];
    await Promise.all(others.map((other) => other.opened));
    await until(async () => (await latest()) === 3);
    expect((await seen(page)).every((presence) => presence.channel === channel)).toBe(true);
    const read = await page.evaluate(
      async (url) => (await fetch(url)).json(),
      `${relayBase()}/v1/channels/${channel}/presence`,
    );
    expect(read).toEqual({ channel, subscribers: 3 });
    for (const other of others) other.close();
    await until(async () => (await latest()) === 1);
    await page.close();
  });
});
