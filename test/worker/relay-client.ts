/** Test helpers that talk to the Worker exactly as HTTP clients do (via SELF). */
import { SELF, env } from "cloudflare:test";
import worker from "../../src/index";
import { readStream, type StreamReader } from "./sse-reader";

export const TOKEN = "test-token";
/** The delivery mode this project runs the suites in (vitest.config.ts). */
export const DELIVERY_MODE: "hibernating" | "direct" = env.DIRECT_CHANNEL_PREFIXES ? "direct" : "hibernating";
export const BASE = "https://sse.example.com";

let channelCounter = 0;
/** A fresh channel per test: storage is shared across a file, names keep tests apart. */
export function freshChannel(prefix = "t"): string {
  channelCounter += 1;
  return `${prefix}-${channelCounter}-${Math.random().toString(36).slice(2, 8)}`;
}

export function publish(
  channel: string,
  body: unknown,
  options: { token?: string | null; base?: string; headers?: Record<string, string> } = {},
): Promise<Response> {
  const token = options.token === undefined ? TOKEN : options.token;
  return SELF.fetch(`${options.base ?? BASE}/v1/channels/${channel}/events`, {
    method: "POST",
    headers: {
      "Content-Type": "application/json",
      ...(token === null ? {} : { Authorization: `Bearer ${token}` }),
      ...options.headers,
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

export async function publishData(channel: string, data: unknown, event?: string): Promise<string> {
  const response = await publish(channel, event === undefined ? { data } : { data, event });
  if (response.status !== 201) throw new Error(`publish failed: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { id: string }).id;
}

export async function subscribe(
  channel: string,
  options: { base?: string; headers?: Record<string, string>; query?: string } = {},
): Promise<StreamReader & { response: Response }> {
  const response = await SELF.fetch(
    `${options.base ?? BASE}/v1/channels/${channel}/events${options.query ? `?${options.query}` : ""}`,
    { headers: options.headers ?? {} },
  );
  if (response.status !== 200) throw new Error(`subscribe failed: ${response.status} ${await response.text()}`);
  const reader = readStream(response);
  // The first comment proves the subscriber is registered before the test publishes.
  await reader.waitForComment((comment) => comment.trim() === "connected");
  return Object.assign(reader, { response });
}

export interface ChannelStatsBody {
  channel: string;
  mode: "hibernating" | "direct";
  subscribers: number;
  bufferedBytes: number | null;
  fanouts: { name: string; subscribers: number }[];
  closedStreams: { overflow: number; stalled: number; expired: number };
  lastEventId: string | null;
  oldestEventId: string | null;
  eventsRetained: number;
  historyLimit: number;
}

export async function stats(channel: string): Promise<ChannelStatsBody> {
  const response = await SELF.fetch(`${BASE}/v1/channels/${channel}`, {
    headers: { Authorization: `Bearer ${TOKEN}` },
  });
  if (response.status !== 200) throw new Error(`stats failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as ChannelStatsBody;
}

/**
 * Calls the Worker with the same bindings but other settings, e.g. with
 * publishing unconfigured. (Channel objects keep the test configuration:
 * the runtime hands them their own env.)
 */
export function fetchWithEnv(overrides: Record<string, string>, request: Request): Promise<Response> {
  const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
  return Promise.resolve(worker.fetch(request, { ...env, ...overrides }, ctx));
}
