/**
 * The channel object's one alarm and its three jobs (re-announcement to
 * fan-out objects, presence, Redis polling): each asks for a time through
 * one schedule(job, at), the alarm goes to the earliest asked and is never
 * pushed later by another job.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ChannelObject } from "../../src/objects/channel-object";
import { freshChannel } from "./relay-client";

type Job = "reannounce" | "presence" | "redis";
/** The private scheduler, as the object's own jobs call it. */
const scheduler = (instance: ChannelObject) =>
  (instance as unknown as { schedule(job: Job, at: number): Promise<void> }).schedule.bind(instance);

describe("one alarm for three jobs", () => {
  it("interleaved asks: the earliest wins, a later ask never pushes a sooner job back", async () => {
    const stub = env.CHANNELS.get(env.CHANNELS.idFromName(freshChannel()));
    await runInDurableObject(stub, async (instance, state) => {
      const schedule = scheduler(instance);
      const now = Date.now();
      expect(await state.storage.getAlarm()).toBeNull();
      await schedule("reannounce", now + 5_000);
      expect(await state.storage.getAlarm()).toBe(now + 5_000);
      // Redis's next poll is later: the re-announcement keeps its time.
      await schedule("redis", now + 30_000);
      expect(await state.storage.getAlarm()).toBe(now + 5_000);
      // A presence count due sooner brings the alarm forward.
      await schedule("presence", now + 1_000);
      expect(await state.storage.getAlarm()).toBe(now + 1_000);
      // And a Redis poll wanted sooner still comes first of all.
      await schedule("redis", now + 500);
      expect(await state.storage.getAlarm()).toBe(now + 500);
      await state.storage.deleteAlarm();
    });
  });
});
