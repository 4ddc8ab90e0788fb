/** Node-side clients for end-to-end tests: the `eventsource` EventSource and plain fetch publishing. */
import { EventSource } from "eventsource";

export const E2E_TOKEN = "e2e-token";

/**
 * How long a wait may take before the test fails instead of hanging: a failure guard, never a
 * measurement, generous for a loaded machine and below the e2e and browser tests' 60 s timeout.
 */
export const GUARD_MS = 20_000;

interface Received {
  readonly type: string;
  readonly id: string;
  readonly data: string;
  /** Date.now() when the client dispatched it. */
  readonly at: number;
}

export interface Listener {
  readonly source: EventSource;
  readonly received: Received[];
  readonly opened: Promise<void>;
  opens(): number;
  /** How many times the connection ended (EventSource's `error` event; it then reconnects by itself). */
  ends(): number;
  close(): void;
}

/** An EventSource on a channel that records every event of the given types. */
export function listen(
  relayUrl: string,
  channel: string,
  types: string[] = ["message"],
  init?: ConstructorParameters<typeof EventSource>[1],
): Listener {
  const source = new EventSource(`${relayUrl}/v1/channels/${channel}/events`, init);
  const received: Received[] = [];
  let opens = 0;
  let ends = 0;
  source.addEventListener("open", () => (opens += 1));
  source.addEventListener("error", () => (ends += 1));
  for (const type of types) {
    source.addEventListener(type, (event) =>
      received.push({ type, id: event.lastEventId, data: event.data, at: Date.now() }),
    );
  }
  const opened = new Promise<void>((resolve, reject) => {
    source.addEventListener("open", () => resolve(), { once: true });
    setTimeout(() => reject(new Error("EventSource did not open")), GUARD_MS);
  });
  return { source, received, opened, opens: () => opens, ends: () => ends, close: () => source.close() };
}

export async function publishTo(relayUrl: string, channel: string, body: unknown): Promise<string> {
  const response = await fetch(`${relayUrl}/v1/channels/${channel}/events`, {
    method: "POST",
    headers: { Authorization: `Bearer ${E2E_TOKEN}`, "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  if (response.status !== 201) throw new Error(`publish failed: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { id: string }).id;
}

export async function channelStats(relayUrl: string, channel: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${relayUrl}/v1/channels/${channel}`, {
    headers: { Authorization: `Bearer ${E2E_TOKEN}` },
  });
  if (!response.ok) throw new Error(`stats failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as Record<string, unknown>;
}

export async function until(
  condition: () => boolean | Promise<boolean>,
  what: () => string = () => "condition",
  timeoutMs = GUARD_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
