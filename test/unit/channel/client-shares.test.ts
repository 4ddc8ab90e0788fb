/**
 * The channel's ledger of each client's streams on its fan-out objects
 * (src/channel/client-shares.ts), with a scripted directory of fan-out
 * objects and a hand-moved clock: the orderings a real channel meets
 * (reports and answers crossing, restarts, Workers that never arrive).
 */
import { describe, expect, it } from "vitest";
import {
  CHECK_MS,
  CONFIRM_MS,
  ClientShares,
  type FanoutDirectory,
  type Ticketed,
} from "../../../src/channel/client-shares.ts";

/** Fan-out objects whose answers the test releases when it wants. */
class Directory implements FanoutDirectory {
  readonly open = new Map<string, Ticketed[]>();
  readonly asked: string[] = [];
  private readonly waiting: (() => void)[] = [];
  held = false;

  names(): string[] {
    return [...this.open.keys()];
  }

  async tickets(fanout: string): Promise<Ticketed[]> {
    this.asked.push(fanout);
    // The answer is what the object holds when it is asked, whenever it arrives.
    const answer = [...(this.open.get(fanout) ?? [])];
    if (this.held) await new Promise<void>((resolve) => this.waiting.push(resolve));
    return answer;
  }

  answer(): void {
    for (const resolve of this.waiting.splice(0)) resolve();
  }
}

function setup(options: { bound?: number; loaded?: boolean } = {}) {
  const directory = new Directory();
  const clock = { now: 1_000_000 };
  const shares = new ClientShares(directory, options.bound ?? 100, options.loaded ?? true, () => clock.now);
  return { directory, clock, shares };
}

describe("ClientShares", () => {
  it("counts a client's placements on every object, and forgets released ones", () => {
    const { shares } = setup();
    const a = shares.place("alice", "f/0");
    shares.place("alice", "f/1");
    shares.place("bob", "f/0");
    expect(shares.count("alice")).toBe(2);
    shares.report("f/0", { accepted: [{ ticket: a, client: "alice" }], released: [] });
    shares.report("f/0", { accepted: [], released: [a] });
    expect(shares.count("alice")).toBe(1);
    expect(shares.count("bob")).toBe(1);
    expect(shares.count("carol")).toBe(0);
  });

  it("an unconfirmed placement counts until CONFIRM_MS old (a Worker that never arrived); a late confirmation brings it back", () => {
    const { shares, clock } = setup();
    const ticket = shares.place("alice", "f/0");
    clock.now += CONFIRM_MS - 1;
    expect(shares.count("alice")).toBe(1);
    clock.now += 2;
    expect(shares.count("alice")).toBe(0);
    shares.report("f/0", { accepted: [{ ticket, client: "alice" }], released: [] });
    expect(shares.count("alice")).toBe(1);
    clock.now += 10 * CONFIRM_MS;
    expect(shares.count("alice")).toBe(1);
  });

  it("an object that starts again empty takes its confirmed tickets with it, not those on their way", () => {
    const { shares } = setup();
    const old = shares.place("alice", "f/0");
    shares.report("f/0", { accepted: [{ ticket: old, client: "alice" }], released: [] });
    shares.place("alice", "f/0");
    shares.emptied("f/0");
    expect(shares.count("alice")).toBe(1);
  });

  it("before a refusal, asks the objects holding the client's confirmed tickets: a close whose report was lost is dropped", async () => {
    const { shares, directory, clock } = setup();
    const kept = shares.place("alice", "f/0");
    const lost = shares.place("alice", "f/1");
    shares.place("alice", "f/1"); // unconfirmed: its Worker may not be there yet
    shares.report("f/0", { accepted: [{ ticket: kept, client: "alice" }], released: [] });
    shares.report("f/1", { accepted: [{ ticket: lost, client: "alice" }], released: [] });
    directory.open.set("f/0", [{ ticket: kept, client: "alice" }]);
    directory.open.set("f/1", []);
    await shares.recheck("alice");
    expect(directory.asked.sort()).toEqual(["f/0", "f/1"]);
    expect(shares.count("alice")).toBe(2); // kept, and the unconfirmed one
    // At most once per object per CHECK_MS, however often the client is refused.
    await shares.recheck("alice");
    expect(directory.asked).toHaveLength(2);
    clock.now += CHECK_MS;
    await shares.recheck("alice");
    expect(directory.asked).toHaveLength(3); // only f/0 still holds a confirmed ticket of alice's
  });

  it("an answer older than a confirmation does not undo it", async () => {
    const { shares, directory } = setup();
    const first = shares.place("alice", "f/0");
    shares.report("f/0", { accepted: [{ ticket: first, client: "alice" }], released: [] });
    directory.open.set("f/0", [{ ticket: first, client: "alice" }]);
    directory.held = true;
    const checked = shares.recheck("alice");
    // The object answered before it accepted `second`; the confirmation overtakes the answer.
    const second = shares.place("alice", "f/0");
    shares.report("f/0", { accepted: [{ ticket: second, client: "alice" }], released: [] });
    directory.answer();
    await checked;
    expect(shares.count("alice")).toBe(2);
  });

  it("an answer older than a release does not bring the ticket back", async () => {
    const { shares, directory } = setup({ loaded: false });
    directory.open.set("f/0", [
      { ticket: "old.1", client: "alice" },
      { ticket: "old.2", client: "alice" },
    ]);
    directory.held = true;
    const loading = shares.load();
    shares.report("f/0", { accepted: [], released: ["old.1"] });
    directory.answer();
    await loading;
    expect(shares.loaded).toBe(true);
    expect(shares.count("alice")).toBe(1);
  });

  it("after a restart, counts nobody until every object has said what it holds", async () => {
    const { shares, directory } = setup({ loaded: false });
    directory.open.set("f/0", [{ ticket: "old.1", client: "alice" }]);
    directory.open.set("f/1", [
      { ticket: "old.2", client: "alice" },
      { ticket: "old.3", client: "bob" },
    ]);
    expect(shares.loaded).toBe(false);
    await Promise.all([shares.load(), shares.load()]);
    expect(directory.asked.sort()).toEqual(["f/0", "f/1"]);
    expect(shares.count("alice")).toBe(2);
    expect(shares.count("bob")).toBe(1);
  });

  it("an object that cannot answer leaves its tickets as they were", async () => {
    const directory: FanoutDirectory = {
      names: () => ["f/0"],
      tickets: async () => {
        throw new Error("unreachable");
      },
    };
    const unreachable = new ClientShares(directory, 10, true);
    const ticket = unreachable.place("alice", "f/0");
    unreachable.report("f/0", { accepted: [{ ticket, client: "alice" }], released: [] });
    await unreachable.recheck("alice");
    expect(unreachable.count("alice")).toBe(1);
  });

  it("is bounded: full at the bound, after dropping unconfirmed tickets too old to arrive", () => {
    const { shares, clock } = setup({ bound: 3 });
    const confirmed = shares.place("a", "f/0");
    shares.report("f/0", { accepted: [{ ticket: confirmed, client: "a" }], released: [] });
    shares.place("b", "f/0");
    shares.place("c", "f/0");
    expect(shares.full).toBe(true);
    clock.now += CONFIRM_MS + 1;
    expect(shares.full).toBe(false);
    expect(shares.size).toBe(1);
  });
});
