/**
 * The original story end to end: POST an edit to the Flask example, which
 * stores it and XADDs the change to Redis; an EventSource subscribed to the
 * relay receives it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startRedisStack, type RedisStack } from "../support/redis-stack";
import { listen, until } from "../support/sse-client";
import { freePort } from "../../scripts/ports";
import { startRelay, type RelayProcess } from "../support/wrangler-dev";

// Debian's python3 has python3-flask and python3-redis; another python3 on PATH may not.
const PYTHON = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
const APP = resolve(import.meta.dirname, "../../examples/flask-notes/app.py");

let stack: RedisStack;
let relay: RelayProcess;
let flask: ChildProcess;
let flaskUrl: string;
let dataDir: string;

beforeAll(async () => {
  stack = await startRedisStack();
  relay = await startRelay({ ...stack.relayVars, REDIS_POLL_MS: "100" });
  const port = await freePort();
  dataDir = mkdtempSync(join(tmpdir(), "flask-notes-"));
  flaskUrl = `http://127.0.0.1:${port}`;
  let output = "";
  flask = spawn(PYTHON, [APP], {
    env: {
      ...process.env,
      PORT: String(port),
      REDIS_URL: stack.server.url,
      RELAY_URL: relay.url,
      NOTES_DB: join(dataDir, "notes.sqlite3"),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  flask.stdout?.on("data", (chunk) => (output += chunk));
  flask.stderr?.on("data", (chunk) => (output += chunk));
  await until(
    async () => {
      if (flask.exitCode !== null) throw new Error(`Flask example exited:\n${output}`);
      return fetch(flaskUrl).then(
        (response) => response.ok,
        () => false,
      );
    },
    () => `Flask example did not start:\n${output}`,
    20_000,
  );
});

afterAll(async () => {
  flask?.kill("SIGTERM");
  await relay?.dispose();
  await stack?.dispose();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

it("an edit POSTed to the Flask app reaches a relay subscriber through Redis", async () => {
  const page = await (await fetch(`${flaskUrl}/notes/story`)).text();
  expect(page).toContain(`${relay.url}`);
  expect(page).toContain('"note-story"');

  const listener = listen(relay.url, "note-story", ["note-updated"]);
  await listener.opened;
  // The channel's first poll fixes its Redis cursor at the stream's end; wait for it so the edit is "new".
  await until(async () => {
    const stats = (await (
      await fetch(`${relay.url}/v1/channels/note-story`, { headers: { Authorization: "Bearer e2e-token" } })
    ).json()) as {
      redis: { cursor: string | null };
    };
    return stats.redis.cursor !== null;
  });

  const response = await fetch(`${flaskUrl}/notes/story`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ text: "Edited by user A\nsecond line" }),
  });
  expect(response.status).toBe(200);
  await until(
    () => listener.received.length === 1,
    () => "the change never arrived",
  );
  listener.close();
  const change = JSON.parse(listener.received[0]!.data) as { id: string; text: string };
  expect(change).toMatchObject({ id: "story", text: "Edited by user A\nsecond line" });

  // The edit was stored, too: a fresh page load and the JSON view show it.
  expect(await (await fetch(`${flaskUrl}/notes/story`)).text()).toContain("Edited by user A");
  expect(await (await fetch(`${flaskUrl}/notes/story.json`)).json()).toMatchObject({
    id: "story",
    text: "Edited by user A\nsecond line",
  });
  // Ids that could not be part of a channel name are refused.
  expect(
    (
      await fetch(`${flaskUrl}/notes/bad%20id`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: "{}",
      })
    ).status,
  ).toBe(400);
});
