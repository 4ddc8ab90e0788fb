/**
 * The Mercure hub through `wrangler dev`, with unchanged Mercure clients:
 * - pre-standard protocol: Symfony's Mercure component (Debian's
 *   php-symfony-mercure, examples/mercure/publish.php) publishes an update
 *   with two topics, and `eventsource` subscribers with URI templates and a
 *   private-update token receive it exactly once;
 * - draft-08: examples/mercure/publish.mjs publishes with a token built as
 *   the draft's examples build it (HS256, typ at+jwt, iss, aud,
 *   authorization_details of type https://mercure.rocks/authorization-detail),
 *   and `eventsource` subscribers read it, one with the §Authorization
 *   example's subscriber token (a urlpattern grant) reading a private update
 *   through its alternate topic; an EventSource resumes with the
 *   `last_event_id` query after a disconnect and gets the missed updates in
 *   hub order (a marker published last proves nothing more is coming).
 */
import { execFile, spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { EventSource } from "eventsource";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { draftToken, legacyToken, publishToHub, TEST_ISSUER } from "../support/mercure-token";
import { until } from "../support/sse-client";
import { startRelay, type RelayProcess } from "../support/wrangler-dev";

const PUBLISHER_KEY = "e2e-mercure-publisher-key-0123456789abcdef";
const SUBSCRIBER_KEY = "e2e-mercure-subscriber-key-0123456789abcdef";
const PUBLISH_SCRIPT = resolve(import.meta.dirname, "../../examples/mercure/publish.php");
const DRAFT_PUBLISH_SCRIPT = resolve(import.meta.dirname, "../../examples/mercure/publish.mjs");
const HUB_VARS = {
  MERCURE_PUBLISHER_JWT_KEY: PUBLISHER_KEY,
  MERCURE_SUBSCRIBER_JWT_KEY: SUBSCRIBER_KEY,
  MERCURE_ANONYMOUS: "true",
};
/** draft-08 binds the keys to the issuer of the tokens they verify (`iss`); pre-standard tokens carry none. */
const DRAFT_VARS = { ...HUB_VARS, MERCURE_PUBLISHER_JWT_ISSUER: TEST_ISSUER };

interface Received {
  readonly id: string;
  readonly type: string;
  readonly data: string;
}

function subscribeHub(
  hubUrl: string,
  query: [string, string][],
  types: string[] = ["message"],
  headers: Record<string, string> = {},
): { source: EventSource; received: Received[] } {
  const url = new URL(hubUrl);
  for (const [name, value] of query) url.searchParams.append(name, value);
  const source = new EventSource(url, {
    fetch: (input, init) => fetch(input, { ...init, headers: { ...init?.headers, ...headers } }),
  });
  const received: Received[] = [];
  for (const type of types) {
    source.addEventListener(type, (event) => received.push({ id: event.lastEventId, type, data: event.data }));
  }
  return { source, received };
}

function opened(source: EventSource): Promise<void> {
  return new Promise((resolveOpen, reject) => {
    source.addEventListener("open", () => resolveOpen(), { once: true });
    source.addEventListener("error", () => source.readyState === EventSource.CLOSED && reject(new Error("closed")));
  });
}

describe("Mercure hub, pre-standard protocol, Symfony's publisher", () => {
  let relay: RelayProcess;
  beforeAll(async () => {
    relay = await startRelay({ ...HUB_VARS, MERCURE_PROTOCOL: "legacy" });
  });
  afterAll(async () => {
    await relay?.dispose();
  });

  it("php-symfony-mercure publishes; eventsource subscribers with templates and a private token get it once", async () => {
    const present = spawnSync("php", ["-r", "require 'Symfony/Component/Mercure/autoload.php';"]).status === 0;
    if (!present)
      throw new Error(
        "php-cli and php-symfony-mercure are missing; install them: apt-get install -y php-cli php-symfony-mercure",
      );
    const hub = `${relay.url}/.well-known/mercure`;
    const base = `https://example.com/e2e-${Math.random().toString(36).slice(2, 8)}`;
    const subscriberToken = await legacyToken(SUBSCRIBER_KEY, { subscribe: [`${base}/books/{id}`] });
    const templated = subscribeHub(
      hub,
      [
        ["topic", `${base}/books/{id}`],
        ["topic", `${base}/authors/1`],
      ],
      ["message", "book"],
      {
        Cookie: `mercureAuthorization=${subscriberToken}`,
      },
    );
    const anonymous = subscribeHub(hub, [["topic", `${base}/books/{id}`]], ["message", "book"]);
    await Promise.all([opened(templated.source), opened(anonymous.source)]);

    const jwt = await legacyToken(PUBLISHER_KEY, { publish: ["*"] });
    const run = (args: string[]) =>
      new Promise<string>((resolveRun, reject) =>
        execFile(
          "php",
          [PUBLISH_SCRIPT, ...args],
          { env: { ...process.env, MERCURE_URL: hub, MERCURE_JWT: jwt }, timeout: 60_000 },
          (error, stdout, stderr) =>
            error ? reject(new Error(`${error.message}\n${stdout}\n${stderr}`)) : resolveRun(stdout.trim()),
        ),
      );
    const both = await run([`${base}/books/1,${base}/authors/1`, '{"title":"Dune"}', "", "urn:e2e:both", "book"]);
    expect(both).toBe("urn:e2e:both");
    const secret = await run([`${base}/books/2`, "for token holders", "private"]);
    expect(secret).toMatch(/^urn:uuid:/);
    const marker = await run([`${base}/books/3`, "marker"]);

    await until(
      () => templated.received.some((e) => e.id === marker),
      () => JSON.stringify(templated.received),
    );
    await until(
      () => anonymous.received.some((e) => e.id === marker),
      () => JSON.stringify(anonymous.received),
    );
    templated.source.close();
    anonymous.source.close();
    expect(templated.received).toEqual([
      { id: "urn:e2e:both", type: "book", data: '{"title":"Dune"}' },
      { id: secret, type: "message", data: "for token holders" },
      { id: marker, type: "message", data: "marker" },
    ]);
    expect(anonymous.received.map((e) => e.id)).toEqual(["urn:e2e:both", marker]);
  });
});

describe("Mercure hub, draft-08", () => {
  let relay: RelayProcess;
  beforeAll(async () => {
    relay = await startRelay(DRAFT_VARS);
  });
  afterAll(async () => {
    await relay?.dispose();
  });

  it("publish.mjs publishes with a spec-built token; eventsource subscribers read it, a private one through its alternate topic", async () => {
    const hub = `${relay.url}/.well-known/mercure`;
    const base = `https://example.com/spec-${Math.random().toString(36).slice(2, 8)}`;
    const publish = (args: string[]) =>
      new Promise<string>((resolveRun, reject) =>
        execFile(
          process.execPath,
          [DRAFT_PUBLISH_SCRIPT, ...args],
          {
            env: {
              ...process.env,
              MERCURE_URL: hub,
              MERCURE_PUBLISHER_JWT_KEY: PUBLISHER_KEY,
              MERCURE_PUBLISHER_JWT_ISSUER: TEST_ISSUER,
            },
            timeout: 60_000,
          },
          (error, stdout, stderr) =>
            error ? reject(new Error(`${error.message}\n${stdout}\n${stderr}`)) : resolveRun(stdout.trim()),
        ),
      );
    // §Subscribers: routing by match_urlpattern on books; the token (§Authorization's example, urlpattern)
    // grants subscribe on the user's own namespace only.
    const subscriberToken = await draftToken(
      SUBSCRIBER_KEY,
      hub,
      ["subscribe"],
      [{ match: `${base}/users/42/*`, match_type: "urlpattern" }],
    );
    const routing: [string, string][] = [["match_urlpattern", `${base}/books{/:id}?`]];
    const holder = subscribeHub(hub, routing, ["message"], { Authorization: `Bearer ${subscriberToken}` });
    const anonymous = subscribeHub(hub, routing);
    await Promise.all([opened(holder.source), opened(anonymous.source)]);

    const forUser = await publish([`${base}/books/1`, "for user 42", "private", `${base}/users/42/books/1`]);
    const forOther = await publish([`${base}/books/2`, "for user 43", "private", `${base}/users/43/books/2`]);
    const catalogue = await publish([`${base}/books`, "the catalogue"]);
    expect([forUser, forOther, catalogue].every((id) => id.startsWith("urn:uuid:"))).toBe(true);
    await until(
      () => holder.received.some((e) => e.id === catalogue),
      () => JSON.stringify(holder.received),
    );
    await until(
      () => anonymous.received.some((e) => e.id === catalogue),
      () => JSON.stringify(anonymous.received),
    );
    holder.source.close();
    anonymous.source.close();
    expect(holder.received.map((e) => [e.id, e.data])).toEqual([
      [forUser, "for user 42"],
      [catalogue, "the catalogue"],
    ]);
    expect(anonymous.received.map((e) => [e.id, e.data])).toEqual([[catalogue, "the catalogue"]]);
  });

  it("an EventSource resumes with last_event_id after a disconnect and gets what it missed, in hub order", async () => {
    const hub = `${relay.url}/.well-known/mercure`;
    // The resource identifier defaults to the hub's URL as the request names it.
    const token = await draftToken(PUBLISHER_KEY, hub, ["publish"], [{ match: "*" }]);
    const a = `https://example.com/a-${Math.random().toString(36).slice(2, 8)}`;
    const pattern = `https://example.com/b-${Math.random().toString(36).slice(2, 8)}/:id`;
    const query: [string, string][] = [
      ["match", a],
      ["match_urlpattern", pattern],
    ];
    const first = subscribeHub(hub, query);
    await opened(first.source);
    const one = await publishToHub(hub, token, [
      ["topic", a],
      ["data", "one"],
    ]);
    await until(
      () => first.received.length === 1,
      () => JSON.stringify(first.received),
    );
    first.source.close();

    const b1 = pattern.replace(":id", "1");
    const missed = [
      await publishToHub(hub, token, [
        ["topic", b1],
        ["data", "two"],
      ]),
      await publishToHub(hub, token, [
        ["topic", "https://example.com/unrelated"],
        ["data", "not selected"],
      ]),
      await publishToHub(hub, token, [
        ["topic", a],
        ["data", "three"],
      ]),
    ];
    const resumed = subscribeHub(hub, [...query, ["last_event_id", one]]);
    await opened(resumed.source);
    const marker = await publishToHub(hub, token, [
      ["topic", a],
      ["data", "marker"],
    ]);
    await until(
      () => resumed.received.some((e) => e.id === marker),
      () => JSON.stringify(resumed.received),
    );
    resumed.source.close();
    expect(first.received.map((e) => e.data)).toEqual(["one"]);
    expect(resumed.received.map((e) => [e.id, e.data])).toEqual([
      [missed[0], "two"],
      [missed[2], "three"],
      [marker, "marker"],
    ]);
  });
});
