/**
 * A channel object the test scripts, for a Worker-side stream (src/edge/): the test decides when the
 * object's socket sends (hello, batches) and when a history read answers. Deterministic, no workerd
 * object behind it.
 */
import type { HistoryPage } from "../../src/objects/channel-object";
import type { BridgeTarget } from "../../src/edge/attach";
import { log } from "../../src/log";
import { encodeText } from "../../src/sse/codec";

/** The frames of events from+1…to, as the channel stores them. */
export const frames = (from: number, to: number): Uint8Array => {
  let text = "";
  for (let id = from + 1; id <= to; id++) text += `id: ${id}\ndata: e${id}\n\n`;
  return encodeText(text);
};

/** A history read the test answers when it chooses. */
interface PendingRead {
  readonly after: number;
  answer(page: HistoryPage): void;
}

export function scriptedChannel() {
  const pair = new WebSocketPair();
  const [client, server] = [pair[0], pair[1]];
  server.accept();
  const reads: PendingRead[] = [];
  const left: string[] = [];
  /** Close codes the stream's side sent (src/protocol/bridge-protocol.ts CLOSE_CODES). */
  const closes: number[] = [];
  server.addEventListener("close", (event) => closes.push(event.code));
  const stub = {
    fetch: async () => new Response(null, { status: 101, webSocket: client }),
    readPage: (after: number) => new Promise<HistoryPage>((resolve) => reads.push({ after, answer: resolve })),
    leaveReplay: async (stream: string) => void left.push(stream),
  };
  const target = {
    channel: "scripted",
    client: null,
    region: "any",
    channels: { idFromName: () => ({}), get: () => stub },
    fanouts: { idFromName: () => ({}), get: () => stub },
    log,
  } as unknown as BridgeTarget;
  return { server, reads, left, closes, target };
}

/** Waits (in turns of the event loop, bounded) until `condition` holds; the caller asserts it. */
export const until = async (condition: () => boolean): Promise<boolean> => {
  for (let turn = 0; turn < 5_000 && !condition(); turn++) await new Promise((resolve) => setTimeout(resolve, 1));
  return condition();
};

/** Everything a body delivers, as it arrives, and whether it has ended. */
export function collect(body: ReadableStream<Uint8Array>) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const seen = { text: "", ended: false, cancel: () => reader.cancel() };
  void (async () => {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      seen.text += decoder.decode(value, { stream: true });
    }
    seen.ended = true;
  })();
  return seen;
}
