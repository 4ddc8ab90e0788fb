/**
 * A page stays subscribed while the relay restarts (wrangler dev stopped and
 * started again) and events keep being published: the browser's EventSource
 * reconnects with Last-Event-ID and ends with every accepted event, none twice.
 */
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { launchChromium, startPageServer, type PageServer } from "../support/browser";
import { E2E_TOKEN, sleep, until } from "../support/sse-client";
import { startRelay, type RelayProcess } from "../support/wrangler-dev";

let browser: Browser;
let pages: PageServer;
let relay: RelayProcess;

beforeAll(async () => {
  pages = await startPageServer();
  relay = await startRelay({ ALLOWED_ORIGINS: pages.origin("app"), RETRY_MS: "250" });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await relay?.dispose();
  await pages?.close();
});

/**
 * Publishes until the relay accepts (it may be restarting); returns the id.
 * The Idempotency-Key makes a retry of a publish whose answer was lost
 * return the first id instead of storing the event twice.
 */
async function publishWithRetry(data: string): Promise<string> {
  for (;;) {
    try {
      const response = await fetch(`${relay.url}/v1/channels/resilience/events`, {
        method: "POST",
        headers: {
          Authorization: `Bearer ${E2E_TOKEN}`,
          "Content-Type": "application/json",
          "Idempotency-Key": `resilience:${data.replaceAll(" ", "-")}`,
        },
        body: JSON.stringify({ data }),
        // Abandon a request lost in the restart (a failure guard, not a bound: the retry is idempotent).
        signal: AbortSignal.timeout(10_000),
      });
      if (response.status === 201) return ((await response.json()) as { id: string }).id;
      if (response.status < 500) throw new Error(`publish refused: ${response.status} ${await response.text()}`);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith("publish refused")) throw error;
      // relay down or restarting: try again
    }
    await sleep(50);
  }
}

it("a page reconnects after a relay restart and ends with every event exactly once", async () => {
  const page = await browser.newPage();
  await page.goto(`${pages.origin("app")}/`);
  await page.evaluate((url) => {
    const state = globalThis as unknown as { received: { id: string; data: string }[]; opens: number };
    state.received = [];
    state.opens = 0;
    const source = new EventSource(url);
    source.onopen = () => (state.opens += 1);
    source.onmessage = (event) => state.received.push({ id: event.lastEventId, data: event.data });
  }, `http://s0.localhost:${relay.port}/v1/channels/resilience/events`);
  await until(
    async () => (await page.evaluate(() => (globalThis as unknown as { opens: number }).opens)) === 1,
    () => "page never connected",
  );

  const total = 40;
  const accepted: string[] = [];
  const publishing = (async () => {
    for (let n = 1; n <= total; n++) {
      accepted.push(await publishWithRetry(`event ${n}`));
      await sleep(25);
    }
  })();
  await until(
    () => accepted.length >= 10,
    () => "publishing stalled",
  );
  await relay.stop();
  await sleep(500);
  await relay.restart();
  await publishing;

  const received = () =>
    page.evaluate(() => (globalThis as unknown as { received: { id: string; data: string }[] }).received);
  await until(
    async () => (await received()).length >= total,
    () => `page did not get all ${total} events`,
    30_000,
  );
  accepted.push(await publishWithRetry(`event ${total + 1}`)); // the marker: live, after anything replayed
  await until(
    async () => (await received()).some((event) => event.data === `event ${total + 1}`),
    () => "the marker event never arrived",
  );
  const events = await received();
  expect(events.map((event) => event.data)).toEqual(Array.from({ length: total + 1 }, (_, i) => `event ${i + 1}`));
  expect(events.map((event) => event.id)).toEqual(accepted);
  expect(await page.evaluate(() => (globalThis as unknown as { opens: number }).opens)).toBeGreaterThanOrEqual(2);
  await page.close();
});
