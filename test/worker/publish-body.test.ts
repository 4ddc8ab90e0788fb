/**
 * A publish body arrives exactly as sent: a text/plain body's leading BOM is
 * data, a JSON number keeps the text it was written as (beyond 2^53
 * included), and bytes that are not UTF-8 are refused and change nothing.
 * A private channel authenticates before it looks at Last-Event-ID.
 */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { BASE, DELIVERY_MODE, freshChannel, publish, stats, subscribe, TOKEN } from "./relay-client";

async function expectError(response: Response, status: number, code: string) {
  expect(response.status).toBe(status);
  expect(((await response.json()) as { error: string }).error).toBe(code);
}

/** Publishes a raw body and reads the event back from a stream opened before it. */
async function roundTrip(body: BodyInit, contentType: string): Promise<string> {
  const channel = freshChannel();
  const reader = await subscribe(channel);
  const response = await SELF.fetch(`${BASE}/v1/channels/${channel}/events`, {
    method: "POST",
    headers: { "Content-Type": contentType, Authorization: `Bearer ${TOKEN}` },
    body,
  });
  expect(response.status, await response.clone().text()).toBe(201);
  const [event] = await reader.waitForEvents(1);
  await reader.cancel();
  return event!.data;
}

describe("publish bodies, exactly as sent", () => {
  it("a text/plain body keeps its leading BOM", async () => {
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode("hello")]);
    expect(await roundTrip(bytes, "text/plain")).toBe("\uFEFFhello");
  });

  it("JSON numbers in data keep their text: beyond 2^53, trailing zeros, exponents", async () => {
    expect(await roundTrip('{"data": 12345678901234567890123}', "application/json")).toBe("12345678901234567890123");
    expect(await roundTrip('{"data": {"n": 1.50, "big": -9007199254740993, "e": 1E+2}}', "application/json")).toBe(
      '{"n":1.50,"big":-9007199254740993,"e":1E+2}',
    );
  });

  it("a body that is not UTF-8 is refused with 400 and stores nothing", async () => {
    const channel = freshChannel();
    for (const type of ["text/plain", "application/json"]) {
      const response = await SELF.fetch(`${BASE}/v1/channels/${channel}/events`, {
        method: "POST",
        headers: { "Content-Type": type, Authorization: `Bearer ${TOKEN}` },
        body: new Uint8Array([0x22, 0xff, 0x22]),
      });
      await expectError(response, 400, "invalid_encoding");
    }
    expect(await stats(channel)).toMatchObject({ lastEventId: null, eventsRetained: 0 });
  });

  it("a private channel answers 401 before it reads Last-Event-ID, on one channel and on several", async () => {
    const channel = freshChannel("private-x");
    await expectError(
      await SELF.fetch(`${BASE}/v1/channels/${channel}/events`, { headers: { "Last-Event-ID": "not-an-id" } }),
      401,
      "unauthorized",
    );
    // Multi-channel streams read hibernating channels only (a direct one is refused, 400, whoever asks).
    if (DELIVERY_MODE === "hibernating") {
      await expectError(
        await SELF.fetch(`${BASE}/v1/events?channel=${channel}&lastEventId=not-an-id`),
        401,
        "unauthorized",
      );
    }
    // A public channel still says what is wrong with the id.
    await expectError(
      await SELF.fetch(`${BASE}/v1/channels/${freshChannel()}/events`, { headers: { "Last-Event-ID": "x" } }),
      400,
      "invalid_last_event_id",
    );
    expect((await publish(channel, { data: "x" })).status).toBe(201);
  });
});
