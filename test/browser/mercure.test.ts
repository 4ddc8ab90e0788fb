/**
 * In headless Chromium: a page on another origin subscribes to the relay's
 * Mercure hub with a plain EventSource (`withCredentials`), its token (built
 * as draft-08's examples build it) in the draft's
 * `__Secure-mercure_access_token` cookie, as a Mercure app does after
 * discovery. It receives a private update for a topic its token covers, a
 * public one selected by a URL pattern with an optional group, a private
 * one through the alternate topic its token covers, and nothing else (a
 * marker published last proves it). And on a relay whose streams end after a
 * second, an EventSource whose stream ended before any update resumes with
 * the stream's opaque opening mark and gets an update published meanwhile.
 */
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium, startPageServer, type PageServer } from "../support/browser";
import { draftToken, publishToHub, TEST_ISSUER } from "../support/mercure-token";
import { until } from "../support/sse-client";
import { startRelay, type RelayProcess } from "../support/wrangler-dev";

const PUBLISHER_KEY = "browser-mercure-publisher-key-0123456789abcdef";
const SUBSCRIBER_KEY = "browser-mercure-subscriber-key-0123456789abcdef";

let browser: Browser;
let pages: PageServer;
let relay: RelayProcess;

beforeAll(async () => {
  pages = await startPageServer();
  relay = await startRelay({
    MERCURE_PUBLISHER_JWT_KEY: PUBLISHER_KEY,
    MERCURE_SUBSCRIBER_JWT_KEY: SUBSCRIBER_KEY,
    MERCURE_PUBLISHER_JWT_ISSUER: TEST_ISSUER,
    MERCURE_CORS_ORIGINS: pageOrigin(),
    // One resource identifier for every host name the hub is reached by.
    MERCURE_RESOURCE: "https://hub.example.com/.well-known/mercure",
  });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await relay?.dispose();
  await pages?.close();
});

/**
 * The page's origin: another port of localhost, so cross-origin (CORS applies) but same-site, as an
 * app and its hub on subdomains of one domain are; Chromium sends no cross-site cookie to the hub.
 */
function pageOrigin(): string {
  return `http://localhost:${pages.port}`;
}

const publish = (token: string, fields: [string, string][]) =>
  publishToHub(`${relay.url}/.well-known/mercure`, token, fields);

describe("Mercure hub in Chromium", () => {
  it("a cross-origin EventSource with the token cookie gets private and pattern-selected updates", async () => {
    const resource = "https://hub.example.com/.well-known/mercure";
    const base = `https://example.com/orders-${Math.random().toString(36).slice(2, 8)}`;
    const mine = `${base}/mine`;
    // Built as draft-08's examples build tokens (HS256, typ at+jwt, iss, aud, one Mercure authorization
    // detail): an exact grant on its order, a urlpattern grant on its user's namespace.
    const subscriberToken = await draftToken(
      SUBSCRIBER_KEY,
      resource,
      ["subscribe"],
      [{ match: mine }, { match: `${base}/users/42/*`, match_type: "urlpattern" }],
    );
    const publisherToken = await draftToken(PUBLISHER_KEY, resource, ["publish"], [{ match: "*" }]);
    const hubHost = `localhost:${relay.port}`;
    const context = await browser.newContext();
    await context.addCookies([
      {
        name: "__Secure-mercure_access_token",
        value: subscriberToken,
        domain: "localhost",
        path: "/.well-known/mercure",
        httpOnly: true,
        // The __Secure- prefix needs Secure; Chromium treats http://localhost as a secure origin.
        secure: true,
        sameSite: "Lax",
      },
    ]);
    const page = await context.newPage();
    await page.goto(`${pageOrigin()}/`);
    const url = new URL(`http://${hubHost}/.well-known/mercure`);
    url.searchParams.append("match", mine);
    url.searchParams.append("match_urlpattern", `${base}/public{/:id}?`);
    await page.evaluate((hubUrl) => {
      const state = globalThis as unknown as { received: string[]; opened: boolean };
      state.received = [];
      state.opened = false;
      const source = new EventSource(hubUrl, { withCredentials: true });
      source.onopen = () => (state.opened = true);
      source.onmessage = (event) => state.received.push(`${event.lastEventId} ${event.data}`);
    }, url.toString());
    const state = () =>
      page.evaluate(() => {
        const { received, opened } = globalThis as unknown as { received: string[]; opened: boolean };
        return { received: [...received], opened };
      });
    await until(
      async () => (await state()).opened,
      () => "EventSource did not open",
    );

    const secret = await publish(publisherToken, [
      ["topic", mine],
      ["data", "private order"],
      ["private", "on"],
    ]);
    await publish(publisherToken, [
      ["topic", `${base}/someone-else`],
      ["data", "not mine"],
      ["private", "on"],
    ]);
    const open = await publish(publisherToken, [
      ["topic", `${base}/public/7`],
      ["data", "public"],
    ]);
    // Private, selected by its canonical topic, readable through its alternate topic.
    const shared = await publish(publisherToken, [
      ["topic", `${base}/public`],
      ["topic", `${base}/users/42/public`],
      ["data", "shared with 42"],
      ["private", "on"],
    ]);
    const marker = await publish(publisherToken, [
      ["topic", mine],
      ["data", "marker"],
    ]);
    let received: string[] = [];
    await until(
      async () => {
        received = (await state()).received;
        return received.some((line) => line.startsWith(`${marker} `));
      },
      () => JSON.stringify(received),
    );
    expect(received).toEqual([
      `${secret} private order`,
      `${open} public`,
      `${shared} shared with 42`,
      `${marker} marker`,
    ]);
    await context.close();
  });
});

describe("Mercure hub in Chromium, streams the relay ends", () => {
  let shortLived: RelayProcess;

  beforeAll(async () => {
    shortLived = await startRelay({
      MERCURE_PUBLISHER_JWT_KEY: PUBLISHER_KEY,
      MERCURE_SUBSCRIBER_JWT_KEY: SUBSCRIBER_KEY,
      MERCURE_PUBLISHER_JWT_ISSUER: TEST_ISSUER,
      MERCURE_CORS_ORIGINS: pageOrigin(),
      MERCURE_ANONYMOUS: "true",
      // Every stream ends after a second; the browser waits 1.5 s before it reconnects.
      MAX_STREAM_SECONDS: "1",
      RETRY_MS: "1500",
    });
  });

  afterAll(async () => {
    await shortLived?.dispose();
  });

  it("an EventSource whose stream ended before any update resumes with the opaque mark and gets the update of the gap", async () => {
    const hub = `http://localhost:${shortLived.port}/.well-known/mercure`;
    const t = `https://example.com/gap-${Math.random().toString(36).slice(2, 8)}`;
    const publisherToken = await draftToken(PUBLISHER_KEY, hub, ["publish"], [{ match: "*" }]);
    const context = await browser.newContext();
    const page = await context.newPage();
    // What the hub answered each connection: its Last-Event-ID header (absent on the first).
    const answers: (string | null)[] = [];
    page.on("response", async (response) => {
      if (!response.url().startsWith(hub)) return;
      answers.push((await response.allHeaders())["last-event-id"] ?? null);
    });
    await page.goto(`${pageOrigin()}/`);
    const url = new URL(hub);
    url.searchParams.append("match", t);
    await page.evaluate((hubUrl) => {
      const state = globalThis as unknown as { received: string[]; opens: number[]; errors: number[] };
      state.received = [];
      state.opens = [];
      state.errors = [];
      const source = new EventSource(hubUrl);
      source.onopen = () => state.opens.push(Date.now());
      source.onerror = () => state.errors.push(Date.now());
      source.onmessage = (event) => state.received.push(`${event.lastEventId} ${event.data}`);
    }, url.toString());
    const state = () =>
      page.evaluate(() => {
        const { received, opens, errors } = globalThis as unknown as {
          received: string[];
          opens: number[];
          errors: number[];
        };
        return { received: [...received], opens: [...opens], errors: [...errors] };
      });
    // The first stream ends (MAX_STREAM_SECONDS) with nothing but its opening mark written.
    await until(
      async () => (await state()).errors.length > 0,
      () => `the stream did not end: ${shortLived.output().slice(-2000)}`,
    );
    const before = await state();
    expect(before.opens).toHaveLength(1);
    expect(before.received).toEqual([]);
    const gap = await publishToHub(hub, publisherToken, [
      ["topic", t],
      ["data", "published in the gap"],
    ]);
    const publishedAt = Date.now();
    let received: string[] = [];
    await until(
      async () => {
        received = (await state()).received;
        return received.length > 0;
      },
      () => `nothing arrived; answers ${JSON.stringify(answers)}`,
    );
    expect(received).toEqual([`${gap} published in the gap`]);
    // It came by replay: the second connection opened after the publish, and the hub took its mark.
    const after = await state();
    expect(after.opens[1]).toBeGreaterThan(publishedAt);
    await until(
      () => answers.length >= 2,
      () => JSON.stringify(answers),
    );
    expect(answers[0]).toBeNull();
    expect(answers[1]).toMatch(/^#[A-Za-z0-9_-]{22}$/);
    await context.close();
  });
});
