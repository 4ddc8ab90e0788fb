/**
 * public/client.js with `multiplex: true` in Chromium: several channels on one
 * stream per shard host (GET /v1/events?channel=…), handlers still told each
 * event's channel and its own id, and tabs wanting different sets of channels
 * sharing one stream for the union (reopened, resuming, when the union changes).
 */
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { multiStreamUrl, shardIndex } from "../../public/client.js";
import { launchChromium, startPageServer, type PageServer } from "../support/browser";
import { channelStats, publishTo, until } from "../support/sse-client";
import { startRelay, type RelayProcess } from "../support/wrangler-dev";

let browser: Browser;
let context: BrowserContext;
let pages: PageServer;
let relay: RelayProcess;

beforeAll(async () => {
  pages = await startPageServer();
  relay = await startRelay({ ALLOWED_ORIGINS: pages.origin("app"), RETRY_MS: "300", HEARTBEAT_MS: "1000" });
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

async function subscribeInPage(options: Record<string, unknown>): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`${pages.origin("app")}/`);
  await page.evaluate(`(async () => {
    const client = await import(${JSON.stringify(`${relayBase()}/client.js`)});
    globalThis.got = [];
    globalThis.opened = [];
    const record = (type) => (data, event) => globalThis.got.push({ channel: event.channel, type, id: event.id, data });
    globalThis.sub = client.subscribe({
      ...${JSON.stringify(options)},
      on: { message: record("message"), named: record("named") },
      onOpen: (channel) => globalThis.opened.push(channel),
    });
  })()`);
  return page;
}

const got = (page: Page) => page.evaluate(() => (globalThis as unknown as { got: Recorded[] }).got);
/** Per channel, in arrival order, [type, id, data]: the order between channels is not fixed, each one's is. */
async function perChannel(page: Page): Promise<Record<string, [string, string, unknown][]>> {
  const result: Record<string, [string, string, unknown][]> = {};
  for (const event of await got(page)) {
    result[event.channel] ??= [];
    result[event.channel]!.push([event.type, event.id, event.data]);
  }
  return result;
}
const subscribers = async (channel: string) => (await channelStats(relay.url, channel)).subscribers as number;

describe("multiplexed client (unit)", () => {
  it("builds one URL for several channels on the first channel's shard host", () => {
    expect(multiStreamUrl("https://sse.example.com/", ["a", "b:c"], { lastEventId: "0:1.2" })).toBe(
      "https://sse.example.com/v1/events?channel=a&channel=b%3Ac&lastEventId=0%3A1.2",
    );
    expect(new URL(multiStreamUrl("https://sse.example.com", ["orders"], { shards: 8 })).hostname).toBe(
      `s${shardIndex("orders", 8)}.sse.example.com`,
    );
  });
});

describe("multiplexed client in Chromium", () => {
  it("carries the channels on one stream per shard host; handlers get each channel and its own id", async () => {
    const channels = ["mx-1", "mx-2", "mx-3", "mx-4", "mx-5", "mx-6"];
    const shards = 2;
    const page = await subscribeInPage({ relay: relayBase(), channels, shards, multiplex: true });
    await until(
      async () => (await page.evaluate(() => (globalThis as unknown as { opened: string[] }).opened.length)) === 6,
      () => "not all open",
    );
    const { urls } = await page.evaluate(
      () => (globalThis as unknown as { sub: { urls: Record<string, string> } }).sub,
    );
    const hosts = new Set(channels.map((channel) => `s${shardIndex(channel, shards)}.localhost`));
    expect(hosts.size).toBe(2); // these names land on both shards
    for (const channel of channels) {
      const url = new URL(urls[channel]!);
      expect(url.hostname).toBe(`s${shardIndex(channel, shards)}.localhost`);
      expect(url.searchParams.getAll("channel")).toContain(channel);
    }
    expect(new Set(Object.values(urls)).size).toBe(2); // one stream per host
    for (const channel of channels) expect(await subscribers(channel)).toBe(1);

    await publishTo(relay.url, "mx-2", { data: { n: 1 }, event: "named" });
    await publishTo(relay.url, "mx-5", { data: "plain" });
    await publishTo(relay.url, "mx-2", { data: "again" });
    await until(
      async () => (await got(page)).length === 3,
      () => "events missing",
    );
    expect(await perChannel(page)).toEqual({
      "mx-2": [
        ["named", "1", { n: 1 }],
        ["message", "2", "again"],
      ],
      "mx-5": [["message", "1", "plain"]],
    });
    await page.close();
  });

  it("tabs with different channel sets share one stream for the union, handed over without loss", async () => {
    const [x, y, z] = ["tx", "ty", "tz"];
    const options = { relay: relayBase(), multiplex: true, shareAcrossTabs: true };
    const tabA = await subscribeInPage({ ...options, channels: [x, y] });
    await until(
      async () => (await subscribers(x)) === 1,
      () => "leader did not open",
    );
    const tabB = await subscribeInPage({ ...options, channels: [y, z] });
    // The leader reopens for the union x, y, z: one stream, each channel counted once.
    await until(
      async () => (await subscribers(z)) === 1 && (await subscribers(y)) === 1 && (await subscribers(x)) === 1,
      () => "the leader's stream does not carry the union",
    );
    for (const channel of [x, y, z]) await publishTo(relay.url, channel, { data: `${channel}1` });
    await until(
      async () => (await got(tabA)).length === 2 && (await got(tabB)).length === 2,
      () => "tabs missed events",
    );
    expect(await perChannel(tabA)).toEqual({ [x]: [["message", "1", "tx1"]], [y]: [["message", "1", "ty1"]] });
    expect(await perChannel(tabB)).toEqual({ [y]: [["message", "1", "ty1"]], [z]: [["message", "1", "tz1"]] });

    // A third tab with a channel of its own joins while y is being published to: the leader reopens
    // for the new union, resuming y where it was, and neither tab misses or doubles a y event.
    const burst = Promise.all(["ty2", "ty3", "ty4"].map((data) => publishTo(relay.url, y, { data })));
    const tabC = await subscribeInPage({ ...options, channels: ["tw"] });
    await burst;
    await until(
      async () => (await subscribers("tw")) === 1,
      () => "the union never grew to tw",
    );
    await publishTo(relay.url, "tw", { data: "tw1" });
    await publishTo(relay.url, y, { data: "ty5" });
    await until(
      async () => (await got(tabC)).length === 1 && (await got(tabA)).length === 6 && (await got(tabB)).length === 6,
      () => "events missing after the union grew",
    );
    const yIds = async (page: Page) =>
      (await got(page)).filter((event) => event.channel === y).map((event) => Number(event.id));
    expect(await yIds(tabA)).toEqual([1, 2, 3, 4, 5]);
    expect(await yIds(tabB)).toEqual([1, 2, 3, 4, 5]);
    expect((await got(tabC)).map((event) => [event.channel, event.data])).toEqual([["tw", "tw1"]]);
    await tabC.evaluate(() => (globalThis as unknown as { sub: { close(): void } }).sub.close());
    await tabC.close();

    // The leader goes away: tab B takes over, resumes y and z where they were, and drops x.
    await tabA.close();
    await publishTo(relay.url, y, { data: "ty6" });
    await publishTo(relay.url, z, { data: "tz2" });
    await publishTo(relay.url, y, { data: "ty7" });
    await until(
      async () => (await got(tabB)).length === 9,
      () => "tab B missed events in the hand-over",
    );
    expect(await yIds(tabB)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect((await perChannel(tabB))[z]).toEqual([
      ["message", "1", "tz1"],
      ["message", "2", "tz2"],
    ]);
    expect(
      (await got(tabB))
        .filter((event) => event.channel === y)
        .map((event) => event.data)
        .slice(5),
    ).toEqual(["ty6", "ty7"]);
    await until(
      async () => (await subscribers(x)) === 0 && (await subscribers(y)) === 1,
      () => "x still carried, or y not exactly once",
    );
    await tabB.close();
  });
});
