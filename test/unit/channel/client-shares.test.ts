/**
 * The channel's ledger of each client's streams on its fan-out objects
 * (src/channel/client-shares.ts), with scripted fan-out objects and a
 * hand-moved clock: the orderings a real channel meets (reports and answers
 * crossing, restarts, Workers that never arrive, re-dials).
 */
import { describe, expect, it } from "vitest";
import {
  CHECK_MS,
  CONFIRM_MS,
  ClientShares,
  type FanoutDirectory,
  type OpenTickets,
  type Ticketed,
} from "../../../src/channel/client-shares";

/** Fan-out objects: what each holds open, what it has not reported, and answers the test lets go when it wants. */
class Objects implements FanoutDirectory {
  readonly open = new Map<string, Ticketed[]>();
  readonly unreported = new Map<string, string[]>();
  readonly asked: string[] = [];
  private readonly waiting: (() => void)[] = [];
  hold = false;

  names(): string[] {
    return [...this.open.keys()];
  }

  async tickets(fanout: string): Promise<OpenTickets> {
    this.asked.push(fanout);
    // The answer is what the object holds when it is asked, whenever it arrives.
    const answer = { open: [...(this.open.get(fanout) ?? [])], released: this.unreported.get(fanout) ?? [] };
    this.unreported.delete(fanout);
    if (this.hold) await new Promise<void>((resolve) => this.waiting.push(resolve));
    return answer;
  }

  answer(): void {
    for (const resolve of this.waiting.splice(0)) resolve();
  }
}

function setup(options: { bound?: number; loaded?: boolean } = {}) {
  const objects = new Objects();
  const clock = { now: 1_000_000 };
  const shares = new ClientShares(objects, options.bound ?? 100, options.loaded ?? true, () => clock.now);
  return { objects, clock, shares };
}

const accepted = (ticket: string, client = "alice") => ({ accepted: [{ ticket, client }], released: [] });
const released = (ticket: string) => ({ accepted: [], released: [ticket] });

describe("ClientShares", () => {
  it("counts a client's streams on every object, and forgets released ones", () => {
    const { shares } = setup();
    const a = shares.place("alice", "f/0");
    shares.place("alice", "f/1");
    shares.place("bob", "f/0");
    expect(shares.count("alice")).toBe(2);
    shares.report("f/0", accepted(a));
    shares.report("f/0", released(a));
    expect(shares.count("alice")).toBe(1);
    expect(shares.count("bob")).toBe(1);
    expect(shares.count("carol")).toBe(0);
  });

  it("a check drops closes not reported yet, and closes it missed; keeps what may be on its way", async () => {
    const { shares, objects } = setup();
    const open = shares.place("alice", "f/0");
    const closedUnreported = shares.place("alice", "f/0");
    const closedLost = shares.place("alice", "f/0");
    shares.report("f/0", { accepted: [{ ticket: closedLost, client: "alice" }], released: [] });
    shares.place("alice", "f/0"); // handed out just now: maybe on its way
    objects.open.set("f/0", [{ ticket: open, client: "alice" }]);
    objects.unreported.set("f/0", [closedUnreported]);
    await shares.recheck("alice");
    expect(shares.count("alice")).toBe(2); // the open one, and the one maybe on its way
  });

  it("a ticket never seen open CONFIRM_MS after it was handed out is a Worker that never arrived; a late report brings it back", async () => {
    const { shares, objects, clock } = setup();
    const ticket = shares.place("alice", "f/0");
    objects.open.set("f/0", []);
    clock.now += CONFIRM_MS - 1;
    await shares.recheck("alice");
    expect(shares.count("alice")).toBe(1);
    clock.now += CHECK_MS;
    await shares.recheck("alice");
    expect(shares.count("alice")).toBe(0);
    shares.report("f/0", accepted(ticket));
    expect(shares.count("alice")).toBe(1);
  });

  it("checks each object at most once per CHECK_MS, however often the client is refused", async () => {
    const { shares, objects, clock } = setup();
    shares.place("alice", "f/0");
    shares.place("alice", "f/1");
    objects.open.set("f/0", []);
    objects.open.set("f/1", []);
    await shares.recheck("alice");
    await shares.recheck("alice");
    expect(objects.asked.sort()).toEqual(["f/0", "f/1"]);
    clock.now += CHECK_MS;
    await shares.recheck("alice");
    expect(objects.asked).toHaveLength(4);
  });

  it("an answer older than a confirmation does not undo it", async () => {
    const { shares, objects } = setup();
    const first = shares.place("alice", "f/0");
    shares.report("f/0", accepted(first));
    objects.open.set("f/0", [{ ticket: first, client: "alice" }]);
    objects.hold = true;
    const checked = shares.recheck("alice");
    // The object answered before it accepted `second`; its report overtakes the answer.
    const second = shares.place("alice", "f/0");
    shares.report("f/0", accepted(second));
    objects.answer();
    await checked;
    expect(shares.count("alice")).toBe(2);
  });

  it("an answer older than a release does not bring the ticket back", async () => {
    const { shares, objects } = setup({ loaded: false });
    objects.open.set("f/0", [
      { ticket: "old.1", client: "alice" },
      { ticket: "old.2", client: "alice" },
    ]);
    objects.hold = true;
    const loading = shares.load();
    shares.report("f/0", released("old.1"));
    objects.answer();
    await loading;
    expect(shares.count("alice")).toBe(1);
  });

  it("after a restart, counts nobody until every object has said what it holds", async () => {
    const { shares, objects } = setup({ loaded: false });
    objects.open.set("f/0", [{ ticket: "old.1", client: "alice" }]);
    objects.open.set("f/1", [
      { ticket: "old.2", client: "alice" },
      { ticket: "old.3", client: "bob" },
    ]);
    expect(shares.loaded).toBe(false);
    await Promise.all([shares.load(), shares.load()]);
    expect(shares.loaded).toBe(true);
    expect(objects.asked.sort()).toEqual(["f/0", "f/1"]);
    expect(shares.count("alice")).toBe(2);
    expect(shares.count("bob")).toBe(1);
  });

  it("a re-dial replaces its stream's ticket, its own client's only", () => {
    const { shares } = setup();
    const ticket = shares.place("alice", "f/0");
    shares.replace("mallory", ticket);
    expect(shares.count("alice")).toBe(1);
    shares.replace("alice", ticket);
    expect(shares.count("alice")).toBe(0);
  });

  it("an object that starts again empty takes its confirmed tickets with it, not those on their way", () => {
    const { shares } = setup();
    shares.report("f/0", accepted(shares.place("alice", "f/0")));
    shares.place("alice", "f/0");
    shares.emptied("f/0");
    expect(shares.count("alice")).toBe(1);
  });

  it("an object that cannot answer leaves its tickets as they were", async () => {
    const unreachable = new ClientShares(
      {
        names: () => ["f/0"],
        tickets: () => Promise.reject(new Error("unreachable")),
      },
      10,
      true,
    );
    unreachable.report("f/0", accepted(unreachable.place("alice", "f/0")));
    await unreachable.recheck("alice");
    expect(unreachable.count("alice")).toBe(1);
  });

  it("is bounded: full at the bound until a check of every object drops what is gone", async () => {
    const { shares, objects, clock } = setup({ bound: 3 });
    const kept = shares.place("a", "f/0");
    shares.place("b", "f/0");
    shares.place("c", "f/1");
    expect(shares.full).toBe(true);
    objects.open.set("f/0", [{ ticket: kept, client: "a" }]);
    objects.open.set("f/1", []);
    clock.now += CONFIRM_MS;
    await shares.checkAll();
    expect(shares.full).toBe(false);
    expect(shares.size).toBe(1);
  });
});
