/**
 * Presence, the pure part: for channels whose name starts with one of
 * PRESENCE_CHANNEL_PREFIXES, subscribers are told how many streams are open
 * on the channel (across the channel object and its fan-out objects) with a
 * named event in the relay's reserved namespace:
 *
 *   event: relay.presence
 *   data: {"channel":"room-1","subscribers":3}
 *
 * The frame has no `id:` line: presence is not durable and must not move the
 * browser's Last-Event-ID cursor. No I/O here: the event's name, the bridge
 * message an object sends a Worker (text; batches are binary), the SSE frame,
 * and the throttle that keeps sends to one per PRESENCE_INTERVAL_MS.
 */
import type { PresenceSettings } from "../config";
import { encodeText, formatEvent } from "../sse/codec";
import { RESERVED_EVENT_PREFIX } from "../events/event-rules";

/** In the relay's reserved namespace, so no publisher can forge it. */
export const PRESENCE_EVENT_NAME = `${RESERVED_EVENT_PREFIX}presence`;

/** What subscribers and the read endpoint see. */
export interface PresenceCount {
  readonly channel: string;
  readonly subscribers: number;
}

export function presenceEnabled(channel: string, settings: Pick<PresenceSettings, "channelPrefixes">): boolean {
  return settings.channelPrefixes.some((prefix) => channel.startsWith(prefix));
}

/** The bridge message (text) an object sends its Workers; batches stay binary. */
export function encodePresenceMessage(count: PresenceCount): string {
  return JSON.stringify({ t: "presence", channel: count.channel, subscribers: count.subscribers });
}

/**
 * The bridge message asking the Worker that gets it to call the channel's `presenceDue()` after
 * `inMs`: how a hibernating channel waits out the interval without an alarm (an alarm would give
 * an anonymous subscriber's channel storage).
 */
export function encodePresenceDue(inMs: number): string {
  return JSON.stringify({ t: "presence-due", inMs: Math.max(0, Math.ceil(inMs)) });
}

/** A bridge text message, read: a frame to write, a call-back to make, or null (not presence: ignored). */
export type PresenceMessage = { readonly frame: Uint8Array } | { readonly dueInMs: number } | null;

export function readPresenceMessage(message: string): PresenceMessage {
  let value: unknown;
  try {
    value = JSON.parse(message);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const { t, channel, subscribers, inMs } = value as Record<string, unknown>;
  if (t === "presence-due") return isCount(inMs) ? { dueInMs: inMs } : null;
  if (t !== "presence" || typeof channel !== "string" || !isCount(subscribers)) return null;
  return { frame: presenceFrame({ channel, subscribers }) };
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

export function presenceFrame(count: PresenceCount): Uint8Array {
  const data = JSON.stringify({ channel: count.channel, subscribers: count.subscribers });
  return encodeText(formatEvent({ event: PRESENCE_EVENT_NAME, data }));
}

/** What the throttle says to do about a change, or about an alarm. */
export type ThrottleStep = { readonly send: true } | { readonly send: false; readonly wakeAt: number | null };

/**
 * At most one send per interval, the latest value wins, the final value is
 * always sent: a change after a quiet interval is sent at once; changes
 * within the interval after a send wait for one send at its end (the owner
 * sets an alarm for `wakeAt`). Time is passed in, so this is a pure state
 * machine (see test/unit/channel/presence-throttle.test.ts).
 */
export class PresenceThrottle {
  private lastSentAt = Number.NEGATIVE_INFINITY;
  private pending = false;

  constructor(private readonly intervalMs: number) {}

  /**
   * The count changed (or someone joined) at `now`. While a change waits, each further change asks
   * for the wake-up again: the owner's way of waking (a Worker's call-back) may have gone with a leave.
   */
  changed(now: number): ThrottleStep {
    if (!this.pending && now - this.lastSentAt >= this.intervalMs) return this.sent(now);
    this.pending = true;
    return { send: false, wakeAt: this.dueAt };
  }

  /**
   * The owner woke at `now` (perhaps early, e.g. an alarm set for another of the object's reasons).
   * A throttle that never sent (a fresh instance of the object, called back for a wait an earlier
   * instance arranged) sends: it cannot know what was held back.
   */
  woke(now: number): ThrottleStep {
    if (!this.pending)
      return this.lastSentAt === Number.NEGATIVE_INFINITY ? this.sent(now) : { send: false, wakeAt: null };
    if (now >= this.dueAt) return this.sent(now);
    return { send: false, wakeAt: this.dueAt };
  }

  /** When a waiting change is due, or null if none waits. */
  get wakeAt(): number | null {
    return this.pending ? this.dueAt : null;
  }

  private get dueAt(): number {
    return this.lastSentAt + this.intervalMs;
  }

  private sent(now: number): ThrottleStep {
    this.pending = false;
    this.lastSentAt = now;
    return { send: true };
  }
}
