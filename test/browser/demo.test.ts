/**
 * The live demo in Chromium: two people on the same page; one edits, the
 * other's page updates without reload, for an edit made through the page
 * (HTTP publish) and for a change written straight into Redis.
 */
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { launchChromium } from "../support/browser";
import { startRedisStack, type RedisStack } from "../support/redis-stack";
import { GUARD_MS } from "../support/sse-client";
import { startRelay, type RelayProcess } from "../support/wrangler-dev";

let browser: Browser;
let relay: RelayProcess;
let stack: RedisStack;

beforeAll(async () => {
  stack = await startRedisStack();
  relay = await startRelay({ ...stack.relayVars, DEMO_ENABLED: "true", REDIS_POLL_MS: "100" });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await relay?.dispose();
  await stack?.dispose();
});

async function openDemo(): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 900, height: 820 } });
  await page.goto(`${relay.url}/demo`);
  await page.locator("#status.live").waitFor({ timeout: GUARD_MS });
  return page;
}

it("an edit on page A appears on page B, through HTTP and through Redis", async () => {
  const pageA = await openDemo();
  const pageB = await openDemo();

  await pageA.fill("#text", "Meeting moved to 3 pm.\nBring the slides.");
  await pageA.click("button[type=submit]");
  // Each page shows the note when its own stream delivers it: wait for both, in any order.
  for (const page of [pageA, pageB]) {
    await page.locator("#note", { hasText: "Meeting moved to 3 pm." }).waitFor({ timeout: GUARD_MS });
    expect(await page.textContent("#note")).toBe("Meeting moved to 3 pm.\nBring the slides.");
  }

  // A backend writing into Redis reaches the same pages.
  const change = JSON.stringify({ text: "Updated from the backend via Redis", at: Date.now() });
  await stack.client.xadd("sse:demo-note", "*", "event", "note-updated", "data", change);
  await pageB.locator("#note", { hasText: "Updated from the backend via Redis" }).waitFor({ timeout: GUARD_MS });
  await pageA.locator("#note", { hasText: "Updated from the backend via Redis" }).waitFor({ timeout: GUARD_MS });

  // A page opened later starts with the current note (replay of the latest event).
  const pageC = await openDemo();
  await pageC.locator("#note", { hasText: "Updated from the backend via Redis" }).waitFor({ timeout: GUARD_MS });

  if (process.env.UPDATE_SCREENSHOTS) {
    // Two viewers side by side, after one of them saved an edit: docs/demo.png.
    const docs = resolve(import.meta.dirname, "../../docs");
    mkdirSync(docs, { recursive: true });
    const both = await browser.newPage({ viewport: { width: 1400, height: 760 } });
    await both.setContent(
      `<body style="margin:0;display:flex;gap:8px;background:#d9dce3">` +
        `<iframe name="a" src="${relay.url}/demo" style="flex:1;height:750px;border:0"></iframe>` +
        `<iframe name="b" src="${relay.url}/demo" style="flex:1;height:750px;border:0"></iframe></body>`,
    );
    const [frameA, frameB] = [both.frame({ name: "a" })!, both.frame({ name: "b" })!];
    await frameA.locator("#status.live").waitFor();
    await frameB.locator("#status.live").waitFor();
    await frameA.fill("#text", "Lunch is at 12:30 today.");
    await frameA.click("button[type=submit]");
    await frameB.locator("#note", { hasText: "Lunch is at 12:30" }).waitFor({ timeout: GUARD_MS });
    await frameA.fill("#text", "");
    await both.screenshot({ path: join(docs, "demo.png") });
    await both.close();
  }
  await Promise.all([pageA.close(), pageB.close(), pageC.close()]);
});
