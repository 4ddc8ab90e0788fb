/**
 * The backend snippets in examples/backends/ (Node, Python, Go, PHP) run
 * against a real relay (`wrangler dev`): each publishes an event, sends a
 * batch twice with one Idempotency-Key, and mints a subscriber token; an
 * EventSource with that token then reads the private channel from the
 * start and gets every event exactly once (a marker published last proves
 * nothing more is coming).
 *
 * Run as docs/DEVELOPMENT.md says, with no environment but where the relay listens:
 * the relay has `npm run dev`'s settings (scripts/dev-vars.ts), which are
 * the snippets' own defaults.
 *
 * A missing toolchain fails its test with the install command.
 */
import { execFile, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { EventSource } from "eventsource";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEV_DEFAULTS } from "../../scripts/dev-vars.ts";
import { E2E_TOKEN, publishTo, until } from "../support/sse-client";
import { startRelay, type RelayProcess } from "../support/wrangler-dev";

const EXAMPLES = resolve(import.meta.dirname, "../../examples/backends");
// Debian's python3 has python3-jwt; another python3 on PATH may not.
const PYTHON = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

interface Snippet {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd: string;
  /** Debian packages that provide the toolchain (what .ci/run installs). */
  readonly packages: readonly string[];
  /** A command that succeeds when the toolchain is present. */
  readonly probe: readonly [string, ...string[]];
}

const SNIPPETS: readonly Snippet[] = [
  {
    name: "node",
    command: process.execPath,
    args: ["relay.mjs"],
    cwd: `${EXAMPLES}/node`,
    packages: [],
    probe: [process.execPath, "--version"],
  },
  {
    name: "python",
    command: PYTHON,
    args: ["relay.py"],
    cwd: `${EXAMPLES}/python`,
    packages: ["python3", "python3-jwt"],
    probe: [PYTHON, "-c", "import jwt"],
  },
  {
    name: "go",
    command: "go",
    args: ["run", "main.go"],
    cwd: `${EXAMPLES}/go`,
    packages: ["golang-go"],
    probe: ["go", "version"],
  },
  {
    name: "php",
    command: "php",
    args: ["relay.php"],
    cwd: `${EXAMPLES}/php`,
    packages: ["php-cli"],
    probe: ["php", "--version"],
  },
];

function toolchainPresent(snippet: Snippet): boolean {
  const [command, ...args] = snippet.probe;
  return spawnSync(command, args, { stdio: "ignore" }).status === 0;
}

interface SnippetOutput {
  id: string;
  batch: string[];
  retry: string[];
  replayed: boolean;
  token: string;
}

/** The environment without the snippets' variables: their defaults are what is tested. */
function withoutRelayVars(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { PUBLISH_TOKEN: _token, SUBSCRIBE_JWT_SECRET: _secret, ...rest } = env;
  return rest;
}

function runSnippet(snippet: Snippet, env: Record<string, string>): Promise<SnippetOutput> {
  return new Promise((resolveRun, reject) => {
    execFile(
      snippet.command,
      [...snippet.args],
      {
        cwd: snippet.cwd,
        timeout: 120_000,
        // Go: no module downloads (standard library only), a cache it may write.
        env: { ...withoutRelayVars(process.env), ...env, GOFLAGS: "-mod=mod", GOPROXY: "off", GOTOOLCHAIN: "local" },
      },
      (error, stdout, stderr) => {
        if (error) return reject(new Error(`${snippet.name} snippet failed: ${error.message}\n${stdout}\n${stderr}`));
        try {
          resolveRun(JSON.parse(stdout.trim().split("\n").at(-1)!) as SnippetOutput);
        } catch {
          reject(new Error(`${snippet.name} snippet printed no JSON result:\n${stdout}\n${stderr}`));
        }
      },
    );
  });
}

let relay: RelayProcess;

beforeAll(async () => {
  // npm run dev's publish token and subscriber secret (and the tests' own token, for the marker).
  relay = await startRelay({
    PUBLISH_TOKENS: `${DEV_DEFAULTS.PUBLISH_TOKENS},${E2E_TOKEN}`,
    SUBSCRIBE_JWT_SECRET: DEV_DEFAULTS.SUBSCRIBE_JWT_SECRET!,
  });
});

afterAll(async () => {
  await relay?.dispose();
});

describe("backend snippets", () => {
  for (const snippet of SNIPPETS) {
    const present = toolchainPresent(snippet);
    const install = `apt-get install -y ${snippet.packages.join(" ")}`;
    it(`${snippet.name}: publishes, retries a batch idempotently, mints a subscriber token`, async () => {
      if (!present) throw new Error(`The ${snippet.name} toolchain is missing; install it: ${install}`);
      const channel = `private-snippet-${snippet.name}-${Math.random().toString(36).slice(2, 8)}`;
      // Only where the relay listens (a free port, not 8787) and a channel of its own.
      const output = await runSnippet(snippet, { RELAY_URL: relay.url, CHANNEL: channel });
      expect(output.batch).toHaveLength(2);
      expect(output.retry).toEqual(output.batch);
      expect(output.replayed).toBe(true);

      // Read the private channel from its start with the snippet's token.
      const received: { type: string; id: string; data: string }[] = [];
      const source = new EventSource(`${relay.url}/v1/channels/${channel}/events?lastEventId=0`, {
        fetch: (input, init) =>
          fetch(input, { ...init, headers: { ...init?.headers, Authorization: `Bearer ${output.token}` } }),
      });
      for (const type of ["greeting", "message", "marker"]) {
        source.addEventListener(type, (event) => received.push({ type, id: event.lastEventId, data: event.data }));
      }
      try {
        await until(
          () => received.length >= 3,
          () => `events: ${JSON.stringify(received)}`,
          20_000,
        );
        await publishTo(relay.url, channel, { event: "marker", data: "end" });
        await until(
          () => received.some((event) => event.type === "marker"),
          () => `marker: ${JSON.stringify(received)}`,
          20_000,
        );
      } finally {
        source.close();
      }
      expect(received.slice(0, 3)).toEqual([
        { type: "greeting", id: output.id, data: JSON.stringify({ from: snippet.name }) },
        { type: "message", id: output.batch[0], data: "batch-1" },
        { type: "message", id: output.batch[1], data: "batch-2" },
      ]);
      expect(received.map((event) => event.type)).toEqual(["greeting", "message", "message", "marker"]);
    });
  }
});
