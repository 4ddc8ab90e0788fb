/** The presence throttle as a table: at most one send per interval, the latest value wins, the last is sent. */
import { describe, expect, it } from "vitest";
import { PresenceThrottle, type ThrottleStep } from "../../../src/channel/presence";

type Step = readonly [what: "change" | "alarm", at: number, expected: ThrottleStep];
const SEND = { send: true } as const;
const wait = (wakeAt: number | null) => ({ send: false, wakeAt }) as const;

const CASES: readonly { readonly name: string; readonly steps: readonly Step[] }[] = [
  { name: "a first change is sent at once", steps: [["change", 0, SEND]] },
  {
    name: "a fresh throttle woken (an earlier instance's call-back) sends once",
    steps: [
      ["alarm", 0, SEND],
      ["alarm", 5_000, wait(null)],
    ],
  },
  {
    name: "a burst within the interval waits for one send at its end",
    steps: [
      ["change", 0, SEND],
      ["change", 10, wait(1_000)],
      ["change", 20, wait(1_000)],
      ["change", 999, wait(1_000)],
      ["alarm", 1_000, SEND],
      ["alarm", 1_001, wait(null)],
    ],
  },
  {
    name: "an alarm that fires early (for another reason) sends nothing and asks again",
    steps: [
      ["change", 0, SEND],
      ["change", 100, wait(1_000)],
      ["alarm", 500, wait(1_000)],
      ["alarm", 1_000, SEND],
    ],
  },
  {
    name: "a change after a quiet interval is sent at once",
    steps: [
      ["change", 0, SEND],
      ["change", 1_000, SEND],
      ["change", 5_000, SEND],
    ],
  },
  {
    name: "a change while one waits does not send early even past the interval",
    steps: [
      ["change", 0, SEND],
      ["change", 10, wait(1_000)],
      ["change", 1_500, wait(1_000)],
      ["alarm", 1_500, SEND],
      ["change", 1_600, wait(2_500)],
    ],
  },
];

describe("PresenceThrottle", () => {
  for (const { name, steps } of CASES) {
    it(name, () => {
      const throttle = new PresenceThrottle(1_000);
      const got = steps.map(([what, at]) => (what === "change" ? throttle.changed(at) : throttle.woke(at)));
      expect(got).toEqual(steps.map(([, , expected]) => expected));
    });
  }

  it("at most one send per interval over a long run of changes every 37 ms, and nothing left waiting at the end", () => {
    const throttle = new PresenceThrottle(1_000);
    const sends: number[] = [];
    let alarm: number | null = null;
    for (let at = 0; at < 20_000; at += 37) {
      if (alarm !== null && at >= alarm) {
        alarm = null;
        const step = throttle.woke(at);
        if (step.send) sends.push(at);
        else if (step.wakeAt !== null) alarm = step.wakeAt;
      }
      const step = throttle.changed(at);
      if (step.send) sends.push(at);
      else if (step.wakeAt !== null) alarm = step.wakeAt;
    }
    while (throttle.wakeAt !== null) if (throttle.woke(throttle.wakeAt).send) sends.push(-1);
    for (let index = 1; index < sends.length - 1; index++)
      expect(sends[index]! - sends[index - 1]!).toBeGreaterThanOrEqual(1_000);
    expect(sends.length).toBeGreaterThan(10);
  });
});
