/**
 * public/client.js in Chromium, imported cross-origin from the relay by a
 * page on its own origin: shard spreading, named events, the lost-events
 * callback, and sharing one connection between tabs.
 */
import { readFileSync } from "node:fs";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOST_EVENT, POSITION_EVENT, shardHost, shardIndex, streamUrl } from "../../public/client.js";
import { LOST_EVENT_NAME } from "../../src/events/lost-events";
import { POSITION_EVENT_NAME } from "../../src/events/position-event";
import { launchChromium, startPageServer, type PageServer } from "../support/browser";
import { channelStats, listen, publishTo, until } from "../support/sse-client";
import { startRelay, type RelayProcess } from "../support/wrangler-dev";

let browser: Browser;
let context: BrowserContext;
let pages: PageServer;
let relay: RelayProcess;

beforeAll(async () => {
  pages = await startPageServer();
  relay = await startRelay({
    ALLOWED_ORIGINS: pages.origin("app"),
    HISTORY_LIMIT: "5",
    RETRY_MS: "300",
    HEARTBEAT_MS: "1000",
    MAX_SUBSCRIBERS_PER_CHANNEL: "2",
  });
  browser = await launchChromium();
  context = await browser.newContext();
});

afterAll(async () => {
  await browser?.close();
  await relay?.dispose();
  await pages?.close();
});

const relayBase = () => `http://localhost:${relay.port}`;

interface Recorded {
  channel: string;
  type: string;
  id: string;
  data: unknown;
}

/** A page on app.localhost that imports the client from the relay and subscribes with `options`. */
async function subscribeInPage(options: Record<string, unknown>): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${pages.origin("app")}/`);
  // A string, not a function: the test runner would rewrite a dynamic import() inside a function.
  await page.evaluate(`(async () => {
    const client = await import(${JSON.stringify(`${relayBase()}/client.js`)});
    globalThis.got = [];
    globalThis.lost = [];
    globalThis.opened = [];
    globalThis.errors = [];
    const record = (type) => (data, event) => globalThis.got.push({ channel: event.channel, type, id: event.id, data });
    globalThis.sub = client.subscribe({
      ...${JSON.stringify(options)},
      on: { message: record("message"), "order-shipped": record("order-shipped") },
      onLost: (info, channel) => globalThis.lost.push({ channel, info }),
      onOpen: (channel) => globalThis.opened.push(channel),
      onError: (channel) => globalThis.errors.push(channel),
    });
  })()`);
  return page;
}

const read = <T>(page: Page, key: "got" | "lost" | "opened" | "errors" | "sub") =>
  page.evaluate((name) => (globalThis as unknown as Record<string, unknown>)[name], key) as Promise<T>;

describe("client module (unit)", () => {
  it("maps a channel to the same shard every time, spreading channels over all shards", () => {
    // The shard is FNV-1a (32 bit) of the name: the published test vectors pin the hash itself, so a
    // name maps to the same host in every browser, tab and release (a random or time-based pick fails).
    expect(shardIndex("", 2 ** 32)).toBe(0x811c9dc5);
    expect(shardIndex("a", 2 ** 32)).toBe(0xe40c292c);
    expect(shardIndex("foobar", 2 ** 32)).toBe(0xbf9cf968);
    expect(shardIndex("orders", 8)).toBe(4);
    expect(shardIndex("orders-2", 4)).toBe(3);
    const channels = Array.from({ length: 400 }, (_, i) => `channel-${i}`);
    const counts = new Array(8).fill(0);
    for (const channel of channels) {
      const index = shardIndex(channel, 8);
      expect(Number.isInteger(index) && index >= 0 && index < 8, `${channel} → ${index}`).toBe(true);
      counts[index] += 1;
    }
    expect(counts.every((count) => count > 25)).toBe(true);
    expect(shardIndex("x", 0)).toBe(-1);
    expect(streamUrl("https://sse.example.com", "orders", { shards: 8 })).toBe(
      "https://s4.sse.example.com/v1/channels/orders/events",
    );
    expect(streamUrl("https://sse.example.com", "orders")).toBe("https://sse.example.com/v1/channels/orders/events");
    expect(streamUrl("http://localhost:8787/", "a:b", { lastEventId: "7" })).toBe(
      "http://localhost:8787/v1/channels/a%3Ab/events?lastEventId=7",
    );
    expect(streamUrl("https://sse.example.com", "private-me", { token: "a.b.c" })).toBe(
      "https://sse.example.com/v1/channels/private-me/events?token=a.b.c",
    );
    // The client listens for the name the relay sends (one fact, checked against the relay's own constant).
    expect(LOST_EVENT).toBe(LOST_EVENT_NAME);
    expect(POSITION_EVENT).toBe(POSITION_EVENT_NAME);
  });

  it("names shard hosts from a template or a function, and refuses what is not a host name", () => {
    const n = shardIndex("orders", 8);
    expect(streamUrl("https://sse.example.com", "orders", { shards: 8, shardHosts: "sse{n}.example.com" })).toBe(
      `https://sse${n}.example.com/v1/channels/orders/events`,
    );
    expect(
      streamUrl("http://localhost:8787", "orders", { shards: 8, shardHosts: (shard) => `shard-${shard}.localhost` }),
    ).toBe(`http://shard-${n}.localhost:8787/v1/channels/orders/events`);
    expect(shardHost("sse.example.com", 3)).toBe("s3.sse.example.com");
    expect(() => shardHost("sse.example.com", 3, "sse.example.com")).toThrow(/no \{n\}/);
    expect(() => shardHost("sse.example.com", 3, "https://sse{n}.example.com")).toThrow(/not a host name/);
    expect(() => shardHost("sse.example.com", 3, () => "sse3.example.com:8443")).toThrow(/not a host name/);
  });
});

describe("client module in Chromium", () => {
  it("the README's client snippet works as written against a local relay", async () => {
    const readme = readFileSync("README.md", "utf8");
    const section = readme.slice(readme.indexOf("### In the browser, with the client module"));
    const snippet = section.slice(
      section.indexOf("```html\n") + 8,
      section.indexOf("```\n", section.indexOf("```html")),
    );
    expect(snippet).toContain('relay: "http://localhost:8787"');
    const page = await context.newPage();
    await page.goto(`${pages.origin("app")}/`);
    // As written, but for the port: the test's relay listens on a free one.
    await page.setContent(snippet.replaceAll("http://localhost:8787", relayBase()));
    await page.waitForFunction(() => document.getElementById("status")?.textContent === "live");
    await publishTo(relayBase(), "orders-42", { event: "order-shipped", data: { carrier: "DHL" } });
    await page.waitForFunction(() => document.getElementById("orders")?.textContent?.includes("shipped with DHL"));
    expect(await page.locator("#orders li").allTextContents()).toEqual(["orders-42 #1: shipped with DHL"]);
    await page.close();
  });

  it("records the stream's resume point as the channel's last id before any event, showing no event", async () => {
    const channel = "resume-point";
    await publishTo(relay.url, channel, { data: "a" });
    await publishTo(relay.url, channel, { data: "b" });
    const page = await subscribeInPage({ relay: relayBase(), channel });
    const lastId = () => page.evaluate(`globalThis.sub.lastEventId(${JSON.stringify(channel)}) ?? null`);
    await until(
      async () => (await lastId()) === "2",
      () => "the client did not record the resume point",
    );
    expect(await read<Recorded[]>(page, "got")).toEqual([]);
    await page.close();
  });

  it("spreads channels over shard hosts and routes unnamed and named events", async () => {
    const channels = ["orders-1", "orders-2", "orders-3", "orders-4", "orders-5"];
    const page = await subscribeInPage({ relay: relayBase(), channels, shards: 4 });
    await until(
      async () => (await read<string[]>(page, "opened")).length === channels.length,
      () => "not all open",
    );
    const { urls } = await read<{ urls: Record<string, string> }>(page, "sub");
    for (const channel of channels) {
      expect(new URL(urls[channel]!).hostname).toBe(`s${shardIndex(channel, 4)}.localhost`);
    }
    expect(new Set(Object.values(urls).map((url) => new URL(url).hostname)).size).toBeGreaterThan(1);

    await publishTo(relay.url, "orders-2", { data: { carrier: "UPS" }, event: "order-shipped" });
    await publishTo(relay.url, "orders-5", { data: "plain text" });
    await until(
      async () => (await read<Recorded[]>(page, "got")).length === 2,
      () => "events missing",
    );
    expect(await read<Recorded[]>(page, "got")).toEqual([
      { channel: "orders-2", type: "order-shipped", id: "1", data: { carrier: "UPS" } },
      { channel: "orders-5", type: "message", id: "1", data: "plain text" },
    ]);
    await page.close();
  });

  it("calls onLost when history no longer holds what the client missed, then delivers what is kept", async () => {
    for (let n = 1; n <= 9; n++) await publishTo(relay.url, "pruned", { data: `e${n}` });
    const page = await subscribeInPage({ relay: relayBase(), channel: "pruned", lastEventId: "1" });
    await until(
      async () => (await read<Recorded[]>(page, "got")).length === 5,
      () => "retained events missing",
    );
    expect(await read(page, "lost")).toEqual([
      { channel: "pruned", info: { reason: "history-pruned", lastEventId: "1", firstAvailableId: "5" } },
    ]);
    expect((await read<Recorded[]>(page, "got")).map((event) => event.data)).toEqual(["e5", "e6", "e7", "e8", "e9"]);
    await page.close();
  });

  it("opens a new stream when the relay refused one (EventSource itself gives up)", async () => {
    const channel = "full";
    const occupants = [listen(relay.url, channel), listen(relay.url, channel)]; // MAX_SUBSCRIBERS_PER_CHANNEL is 2
    await Promise.all(occupants.map((occupant) => occupant.opened));
    const page = await subscribeInPage({ relay: relayBase(), channel });
    // The refusal (503 channel_full) reaches the page as an error event; it never opened.
    await until(
      async () => (await read<string[]>(page, "errors")).length >= 1,
      () => "the refusal never reached the client",
    );
    expect(await read<string[]>(page, "opened")).toEqual([]);
    await publishTo(relay.url, channel, { data: "while refused" });
    occupants[0]!.close();
    await until(
      async () => (await read<string[]>(page, "opened")).length === 1,
      () => "client never reopened",
      15_000,
    );
    await publishTo(relay.url, channel, { data: "after reopening" });
    await until(
      async () => (await read<Recorded[]>(page, "got")).length === 1,
      () => "nothing received",
    );
    expect((await read<Recorded[]>(page, "got")).map((event) => event.data)).toEqual(["after reopening"]);
    occupants[1]!.close();
    await page.close();
  });

  it("shares one connection between tabs and hands it over without losing events", async () => {
    const channel = "tabs";
    const tabA = await subscribeInPage({ relay: relayBase(), channel, shareAcrossTabs: true });
    await until(
      async () => (await read<string[]>(tabA, "opened")).length === 1,
      () => "leader did not open",
    );
    const tabB = await subscribeInPage({ relay: relayBase(), channel, shareAcrossTabs: true });
    // Tab B has asked for the stream's lock and waits behind tab A: it can only follow, never open its own.
    await until(
      async () => (await tabB.evaluate(async () => (await navigator.locks.query()).pending?.length ?? 0)) >= 1,
      () => "tab B never queued for the lock",
    );
    expect((await channelStats(relay.url, channel)).subscribers).toBe(1);

    await publishTo(relay.url, channel, { data: "one" });
    for (const tab of [tabA, tabB])
      await until(
        async () => (await read<Recorded[]>(tab, "got")).length === 1,
        () => "tab missed one",
      );

    // The leader tab goes away; tab B takes the lock and resumes from the last id it saw.
    await tabA.close();
    await publishTo(relay.url, channel, { data: "two" });
    await publishTo(relay.url, channel, { data: "three" });
    await until(
      async () => (await read<Recorded[]>(tabB, "got")).length === 3,
      () => "tab B missed events",
      10_000,
    );
    expect((await read<Recorded[]>(tabB, "got")).map((event) => [event.id, event.data])).toEqual([
      ["1", "one"],
      ["2", "two"],
      ["3", "three"],
    ]);
    await until(
      async () => (await channelStats(relay.url, channel)).subscribers === 1,
      () => "not exactly one connection",
      5_000,
    );
    await tabB.close();
  });
});
