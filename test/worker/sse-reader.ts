/**
 * Test helper: reads an SSE response body with eventsource-parser, an
 * independent spec-following parser, and lets a test wait for what arrives.
 */
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { POSITION_EVENT_NAME } from "../../src/events/position-event";

/**
 * How long a wait may take before the test fails instead of hanging. A failure guard, never a
 * measurement: generous for a loaded machine, below the worker tests' 20 s vitest timeout.
 */
export const GUARD_MS = 15_000;

export interface StreamReader {
  /** Every event but the relay's resume points, which a client records and does not show. */
  readonly events: EventSourceMessage[];
  /** The ids of the relay.position events (src/events/position-event.ts), in order. */
  readonly positions: string[];
  readonly comments: string[];
  retry: number | undefined;
  /** Resolves once `count` events have arrived (rejects after timeoutMs). */
  waitForEvents(count: number, timeoutMs?: number): Promise<EventSourceMessage[]>;
  waitForComment(predicate: (comment: string) => boolean, timeoutMs?: number): Promise<void>;
  /** Stops reading and cancels the stream, as a closing browser tab would. */
  cancel(): Promise<void>;
  /** Resolves when the stream ends: "closed" when the server ended it cleanly, "errored" otherwise. */
  readonly ended: Promise<"closed" | "errored">;
}

export function readStream(response: Response): StreamReader {
  if (!response.body) throw new Error("response has no body");
  const events: EventSourceMessage[] = [];
  const positions: string[] = [];
  const comments: string[] = [];
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const check of waiters) check();
  };
  const reader: StreamReader = {
    events,
    positions,
    comments,
    retry: undefined,
    waitForEvents: (count, timeoutMs = GUARD_MS) =>
      waitUntil(
        () => events.length >= count,
        timeoutMs,
        () => `${events.length} of ${count} events arrived`,
      ).then(() => events.slice(0, count)),
    waitForComment: (predicate, timeoutMs = GUARD_MS) =>
      waitUntil(
        () => comments.some(predicate),
        timeoutMs,
        () => `comments so far: ${JSON.stringify(comments)}`,
      ),
    cancel: async () => {
      await body.cancel().catch(() => {});
    },
    ended: Promise.resolve("closed"),
  };
  const parser = createParser({
    onEvent: (event) => {
      if (event.event === POSITION_EVENT_NAME) positions.push(event.id ?? "");
      else events.push(event);
      notify();
    },
    onComment: (comment) => {
      comments.push(comment);
      notify();
    },
    onRetry: (retry) => {
      reader.retry = retry;
    },
  });
  const body = response.body.pipeThrough(new TextDecoderStream()).getReader();
  (reader as { ended: Promise<"closed" | "errored"> }).ended = (async () => {
    try {
      for (;;) {
        const { done, value } = await body.read();
        if (done) return "closed" as const;
        parser.feed(value);
      }
    } catch {
      // An errored stream ends the reader too; the caller may tell the two apart.
      return "errored" as const;
    }
  })();

  function waitUntil(condition: () => boolean, timeoutMs: number, describe: () => string): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!condition()) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`timed out after ${timeoutMs} ms: ${describe()}`));
      }, timeoutMs);
      waiters.add(check);
      check();
    });
  }
  return reader;
}

/** Polls `probe` until it returns true, for state that has no event to wait on. */
export async function eventually(probe: () => Promise<boolean>, timeoutMs = GUARD_MS, stepMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}
