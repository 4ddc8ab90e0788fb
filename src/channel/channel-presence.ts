/**
 * Presence in the channel object (see presence.ts for the event): the
 * channel sums its own streams (bridge sockets or direct streams) and what
 * each fan-out object last reported, and sends the total to every
 * subscriber when it changes, at most once per PRESENCE_INTERVAL_MS.
 *
 * - Joins and leaves on the channel object itself are seen where they
 *   happen (attach, webSocketClose, a direct stream's end): no request.
 * - A fan-out object reports its count to the channel when one of its
 *   streams opens or closes (one request; an emptied object's existing
 *   `fanoutEmptied` report stands for its last).
 * - A send goes to the channel's own sockets and streams (outgoing messages
 *   are not billed) and, as one request each, to the fan-out objects, which
 *   pass it to their sockets.
 *
 * Kept in memory only: counts come back from the sockets and, after a
 * restart, by asking each fan-out object once. How the object wakes for a
 * change the throttle holds back is the host's (`wake`): objects keep no
 * timers, and an alarm would give an anonymous subscriber's channel storage.
 */
import { type Clock, systemClock } from "../stream/clock";
import type { PresenceSettings } from "../config";
import type { Env } from "../env";
import type { Logger } from "../log";
import { encodePresenceMessage, PresenceThrottle, presenceEnabled, presenceFrame, type ThrottleStep } from "./presence";
import { objectNamed } from "../protocol/stubs";

export interface PresenceHost {
  /** Streams held by the channel object itself. */
  readonly ownCount: () => number;
  /** Fan-out objects currently registered. */
  readonly fanoutNames: () => readonly string[];
  /** Sends to the channel object's own subscribers: the bridge message, or the frame for direct streams. */
  readonly sendLocal: (message: string, frame: Uint8Array) => void;
  /** Calls `due()` at about `at` (ms since epoch), if anyone is there to be told. */
  readonly wake: (at: number) => Promise<void> | void;
}

export class ChannelPresence {
  private readonly throttle: PresenceThrottle;
  /** What each fan-out object last reported, with the report's sequence (bounded by the registry's size). */
  private readonly fanouts = new Map<string, { subscribers: number; seq: number }>();

  constructor(
    private readonly channel: string,
    private readonly settings: PresenceSettings,
    private readonly env: Env,
    private readonly host: PresenceHost,
    private readonly log: Logger,
    /** Time for the throttle (src/channel/presence.ts); the platform's by default. */
    private readonly clock: Clock = systemClock,
  ) {
    this.throttle = new PresenceThrottle(settings.intervalMs);
  }

  private get enabled(): boolean {
    return presenceEnabled(this.channel, this.settings);
  }

  /** A stream opened or closed on the channel object. */
  changed(): void {
    if (!this.enabled) return;
    void this.follow(this.throttle.changed(this.clock.now()));
  }

  /** A fan-out object's count; `seq` orders its reports (older ones are ignored). */
  fanoutReported(name: string, seq: number, subscribers: number): void {
    if (!this.enabled || !this.host.fanoutNames().includes(name)) return;
    const known = this.fanouts.get(name);
    if (known && known.seq >= seq) return;
    this.fanouts.set(name, { subscribers, seq });
    this.changed();
  }

  /** A fan-out object reported itself empty and was forgotten. */
  fanoutGone(name: string): void {
    this.fanouts.delete(name);
    this.changed();
  }

  /** The wake-up the host arranged (or any alarm): sends a waiting change if it is due. */
  async due(): Promise<void> {
    if (this.enabled) await this.follow(this.throttle.woke(this.clock.now()));
  }

  /** Arranges the wake-up again for a waiting change, after another part of the object set the alarm. */
  async rearm(): Promise<void> {
    const at = this.throttle.wakeAt;
    if (at !== null) await this.host.wake(at);
  }

  /** Streams open across the channel object and its fan-out objects (asks those whose count is unknown). */
  async count(): Promise<number> {
    const names = this.host.fanoutNames();
    for (const name of this.fanouts.keys()) if (!names.includes(name)) this.fanouts.delete(name);
    await Promise.all(
      names
        .filter((name) => !this.fanouts.has(name))
        .map(async (name) => {
          const stub = objectNamed(this.env.FANOUTS, name);
          const counted = await stub.count().catch(() => ({ subscribers: 0 }));
          if (!this.fanouts.has(name)) this.fanouts.set(name, { subscribers: counted.subscribers, seq: 0 });
        }),
    );
    let total = this.host.ownCount();
    for (const name of names) total += this.fanouts.get(name)?.subscribers ?? 0;
    return total;
  }

  private async follow(step: ThrottleStep): Promise<void> {
    if (step.send) await this.send();
    else if (step.wakeAt !== null) await this.host.wake(step.wakeAt);
  }

  private async send(): Promise<void> {
    const channel = this.channel;
    const subscribers = await this.count();
    const message = encodePresenceMessage({ channel, subscribers });
    this.host.sendLocal(message, presenceFrame({ channel, subscribers }));
    for (const name of this.host.fanoutNames()) {
      const stub = objectNamed(this.env.FANOUTS, name);
      stub.presence(message).catch((error: unknown) => {
        this.log.warn("presence push to a fan-out object failed", { fanout: name, error: String(error) });
      });
    }
  }
}
