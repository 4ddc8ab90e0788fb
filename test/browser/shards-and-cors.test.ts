/**
 * In headless Chromium: the per-host connection cap is real, shard
 * subdomains beat it, and CORS lets allowed origins in and keeps others out.
 * Pages live on their own origin (app.localhost:<port>, a real loopback
 * server); the relay is `wrangler dev` reached as s0.localhost… (Chromium
 * resolves *.localhost to loopback). RELAY_HOSTS lists those hosts the way
 * a deployment would, so the host guard is exercised too.
 */
import { request } from "node:http";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, startPageServer, type PageServer } from "../support/browser";
import { shardIndex } from "../../public/client.js";
import { GUARD_MS, channelStats, publishTo, sleep, until } from "../support/sse-client";
import { startRelay, type RelayProcess } from "../support/wrangler-dev";

let browser: Browser;
let pages: PageServer;
let relay: RelayProcess;

beforeAll(async () => {
  pages = await startPageServer();
  relay = await startRelay({
    ALLOWED_ORIGINS: pages.origin("app"),
    // 127.0.0.1: the tests' own publish and stats requests.
    RELAY_HOSTS: "127.0.0.1,single.localhost,s{n}.localhost,sse{n}.localhost",
    SHARDS: "12",
  });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await relay?.dispose();
  await pages?.close();
});

const relayOn = (host: string) => `http://${host}.localhost:${relay.port}`;

/** Status of GET /healthz sent to the relay with this Host header (Node's http lets a test set it). */
function healthStatusAs(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const outgoing = request(
      { host: "127.0.0.1", port: relay.port, path: "/healthz", headers: { Host: `${host}:${relay.port}` } },
      (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      },
    );
    outgoing.on("error", reject);
    outgoing.end();
  });
}

/** Opens more EventSources in the page and records, per source, whether it opened and what it got. */
async function openSources(page: Page, urls: string[]): Promise<void> {
  await page.evaluate((list) => {
    const state = globalThis as unknown as {
      sources: { source: EventSource; opened: boolean; errors: number; messages: string[] }[];
    };
    state.sources ??= [];
    const added = list.map((url) => {
      const entry = { source: new EventSource(url), opened: false, errors: 0, messages: [] as string[] };
      entry.source.onopen = () => (entry.opened = true);
      entry.source.onerror = () => (entry.errors += 1);
      entry.source.onmessage = (event) => entry.messages.push(event.data);
      return entry;
    });
    state.sources.push(...added);
  }, urls);
}

function closeSource(page: Page, index: number): Promise<void> {
  return page.evaluate((at) => {
    (globalThis as unknown as { sources: { source: EventSource }[] }).sources[at]!.source.close();
  }, index);
}

interface SourceState {
  opened: boolean;
  readyState: number;
  errors: number;
  messages: string[];
}

function sourceStates(page: Page): Promise<SourceState[]> {
  return page.evaluate(() =>
    (
      globalThis as unknown as {
        sources: { source: EventSource; opened: boolean; errors: number; messages: string[] }[];
      }
    ).sources.map((entry) => ({
      opened: entry.opened,
      readyState: entry.source.readyState,
      errors: entry.errors,
      messages: entry.messages,
    })),
  );
}

/** The sources' states once `predicate` holds (GUARD_MS is only the failure guard). */
async function waitFor(page: Page, predicate: (states: SourceState[]) => boolean): Promise<SourceState[]> {
  const deadline = Date.now() + GUARD_MS;
  for (;;) {
    const states = await sourceStates(page);
    if (predicate(states)) return states;
    if (Date.now() > deadline) throw new Error(`timed out waiting; sources: ${JSON.stringify(states)}`);
    await sleep(100);
  }
}

describe("wildcard shard subdomains in Chromium", () => {
  it("12 streams over 12 shard hosts all open and receive a broadcast", async () => {
    const page = await browser.newPage();
    await page.goto(`${pages.origin("app")}/`);
    await openSources(
      page,
      Array.from({ length: 12 }, (_, i) => `${relayOn(`s${i}`)}/v1/channels/sharded/events`),
    );
    const opened = await waitFor(page, (states) => states.every((state) => state.opened));
    expect(opened.filter((state) => state.opened)).toHaveLength(12);
    expect((await channelStats(relay.url, "sharded")).subscribers).toBe(12);

    await publishTo(relay.url, "sharded", { data: "to every shard" });
    const received = await waitFor(page, (states) => states.every((state) => state.messages.length === 1));
    expect(received.map((state) => state.messages)).toEqual(Array.from({ length: 12 }, () => ["to every shard"]));
    await page.close();
  });

  it("the same 12 streams on one host stall at the browser's HTTP/1.1 per-host cap", async () => {
    const page = await browser.newPage();
    await page.goto(`${pages.origin("app")}/`);
    await openSources(
      page,
      Array.from({ length: 12 }, () => `${relayOn("single")}/v1/channels/one-host/events`),
    );
    await waitFor(page, (states) => states.filter((state) => state.opened).length >= 6);
    // The marker: a 13th stream, opened later on another host, gets through; only the one host's
    // cap, not slowness, holds the other six back.
    await openSources(page, [`${relayOn("s1")}/v1/channels/one-host/events`]);
    const states = (await waitFor(page, (list) => list[12]?.opened === true)).slice(0, 12);
    expect(states.filter((state) => state.opened)).toHaveLength(6);
    expect(states.filter((state) => state.readyState === 0)).toHaveLength(6); // CONNECTING, waiting for a socket
    expect((await channelStats(relay.url, "one-host")).subscribers).toBe(7);

    await publishTo(relay.url, "one-host", { data: "only six hear this" });
    // Once the marker stream has it, so has every stream that is connected.
    const after = await waitFor(
      page,
      (list) =>
        list[12]!.messages.length === 1 && list.slice(0, 12).filter((state) => state.messages.length).length >= 6,
    );
    const heard = after.slice(0, 12).filter((state) => state.messages.length > 0);
    expect(heard).toHaveLength(6);
    expect(heard.every((state) => state.messages[0] === "only six hear this")).toBe(true);

    // And it is the cap: closing one open stream frees its socket for one of the six waiting.
    await closeSource(
      page,
      after.findIndex((state) => state.opened),
    );
    const freed = (await waitFor(page, (list) => list.slice(0, 12).filter((state) => state.opened).length === 7)).slice(
      0,
      12,
    );
    expect(freed.filter((state) => state.readyState === 0)).toHaveLength(5);
    await page.close();
  });
});

describe("CORS in Chromium", () => {
  it("an allowed origin subscribes and receives", async () => {
    const page = await browser.newPage();
    await page.goto(`${pages.origin("app")}/`);
    await openSources(page, [`${relayOn("s1")}/v1/channels/cors/events`]);
    expect((await waitFor(page, (states) => states[0]!.opened))[0]!.opened).toBe(true);
    await publishTo(relay.url, "cors", { data: "allowed" });
    expect((await waitFor(page, (states) => states[0]!.messages.length === 1))[0]!.messages).toEqual(["allowed"]);
    await page.close();
  });

  it("an origin not on ALLOWED_ORIGINS is blocked by the browser", async () => {
    const page = await browser.newPage();
    const consoleErrors: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") consoleErrors.push(message.text());
    });
    await page.goto(`${pages.origin("evil")}/`);
    await openSources(page, [`${relayOn("s1")}/v1/channels/cors-blocked/events`]);
    const [state] = await waitFor(page, (states) => states[0]!.readyState === 2);
    // The marker: a page on an allowed origin, subscribed to the same channel, reads the event.
    const allowed = await browser.newPage();
    await allowed.goto(`${pages.origin("app")}/`);
    await openSources(allowed, [`${relayOn("s1")}/v1/channels/cors-blocked/events`]);
    await waitFor(allowed, (states) => states[0]!.opened);
    await publishTo(relay.url, "cors-blocked", { data: "must not be read" });
    await waitFor(allowed, (states) => states[0]!.messages.length === 1);
    await allowed.close();
    const [after] = await sourceStates(page);
    expect(state!.opened).toBe(false);
    expect(after!.readyState).toBe(2); // CLOSED: a CORS failure is fatal for EventSource
    expect(after!.messages).toEqual([]);
    expect(consoleErrors.join("\n")).toMatch(/CORS|Access-Control-Allow-Origin/);
    await page.close();
  });
});

describe("shard host template (shardHosts) in Chromium", () => {
  it("the client spreads streams over sse{n}.localhost, hosts RELAY_HOSTS lists with the same pattern", async () => {
    const page = await browser.newPage();
    await page.goto(`${pages.origin("app")}/`);
    const channels = Array.from({ length: 10 }, (_, i) => `templated-${i}`);
    // A string, not a function: the test runner would rewrite a dynamic import() inside a function.
    await page.evaluate(`(async () => {
      const client = await import(${JSON.stringify(`${relay.url}/client.js`)});
      globalThis.got = [];
      globalThis.opened = [];
      globalThis.sub = client.subscribe({
        relay: ${JSON.stringify(relay.url)},
        channels: ${JSON.stringify(channels)},
        shards: 8,
        shardHosts: "sse{n}.localhost",
        on: { message: (data, event) => globalThis.got.push(event.channel + ":" + data) },
        onOpen: (channel) => globalThis.opened.push(channel),
      });
    })()`);
    const read = <T>(key: string) =>
      page.evaluate((name) => (globalThis as Record<string, unknown>)[name], key) as Promise<T>;
    await until(
      async () => (await read<string[]>("opened")).length === channels.length,
      () => "not every templated stream opened",
      30_000,
    );
    const { urls } = await read<{ urls: Record<string, string> }>("sub");
    for (const channel of channels) {
      expect(new URL(urls[channel]!).host).toBe(`sse${shardIndex(channel, 8)}.localhost:${relay.port}`);
    }
    expect(new Set(Object.values(urls).map((url) => new URL(url).hostname)).size).toBeGreaterThan(1);

    for (const channel of channels) await publishTo(relay.url, channel, { data: "hello" });
    await until(
      async () => (await read<string[]>("got")).length === channels.length,
      () => "not every templated stream received its event",
    );
    expect((await read<string[]>("got")).sort()).toEqual(channels.map((channel) => `${channel}:hello`).sort());
    await page.close();
  });

  it("the relay serves exactly the pattern's hosts: sse11 yes, sse12 (past SHARDS) and other names 421", async () => {
    expect(await healthStatusAs("sse0.localhost")).toBe(200);
    expect(await healthStatusAs("sse11.localhost")).toBe(200);
    for (const host of ["sse12.localhost", "sse01.localhost", "x.sse0.localhost", "other.localhost"]) {
      expect(await healthStatusAs(host), host).toBe(421);
    }
  });
});
