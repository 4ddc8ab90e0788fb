/**
 * The channel object's list of live fan-out objects, and its pushes to them.
 *
 * Above FANOUT_THRESHOLD subscribers on the channel object itself, new
 * subscribers attach to fan-out objects (at most FANOUT_SIZE each), named
 * after the channel, a region and an index, so each is created near its
 * subscribers. The channel pushes every durable batch to each of them.
 *
 * The list is the one thing a subscriber-only channel stores: a row per
 * fan-out object, written when one is created and deleted when it reports
 * itself empty. It exists only for channels past the threshold, is bounded
 * by MAX_SUBSCRIBERS_PER_CHANNEL / FANOUT_SIZE rows, and shrinks to zero
 * with the subscribers. It must survive the channel's hibernation, which is
 * why it is not only in memory.
 *
 * Pushes keep at most one in flight per fan-out object; batches committed
 * meanwhile are joined into the next push (they are contiguous). A lost or
 * doubled push costs no one an event and gives no one a duplicate: each
 * Worker keeps its cursor, drops what it has and fills gaps from history.
 */
import { concatBytes } from "../sse/codec";
import type { Env } from "../env";
import type { Logger } from "../log";
import { encodeBatch } from "../protocol/bridge-protocol";
import type { TicketReport } from "./client-shares";
import { tableExists } from "./schema";
import { objectNamed } from "../protocol/stubs";

export interface FanoutSettings {
  readonly size: number;
  readonly maxObjects: number;
}

/**
 * What a fan-out object answers a push: its subscribers, when it last went from none to some, and
 * what happened to the channel's tickets since it last said (src/channel/client-shares.ts).
 */
export interface PushReceipt {
  readonly subscribers: number;
  readonly activation: number;
  readonly tickets?: TicketReport;
}

/** What the registry passes on to the channel's count of each client's streams (client-shares.ts). */
export interface FanoutEvents {
  /** The fan-out object holds none of the streams it held before: it reported itself empty, or it started again. */
  emptied(name: string): void;
  /** A fan-out object's receipt said what happened to tickets. */
  tickets(name: string, report: TicketReport): void;
}

interface Entry {
  readonly name: string;
  readonly region: string;
  /** Approximate: counted on assignment, corrected by every push receipt. */
  subscribers: number;
  activation: number;
  /** Highest id this object confirmed receiving (0 after the channel restarts: unknown). */
  acked: number;
  inFlight: boolean;
  /** Batches waiting for the push in flight, in order. */
  pending: { from: number; to: number; frames: Uint8Array[] }[];
}

/** Client placements remembered per channel (a hint; see assign). */
const MAX_REMEMBERED_CLIENTS = 10_000;

export class FanoutRegistry {
  private readonly entries = new Map<string, Entry>();
  /** Where each client's streams were sent (in memory: after a restart a client may land elsewhere once). */
  private readonly clients = new Map<string, string>();

  constructor(
    private readonly sql: SqlStorage,
    private readonly env: Env,
    private readonly settings: FanoutSettings,
    private readonly log: Logger,
    private readonly events: FanoutEvents,
  ) {
    if (!tableExists(sql, "fanouts")) return;
    for (const row of sql.exec<{ name: string; region: string; activation: number }>("SELECT * FROM fanouts")) {
      // After a restart the counts are unknown until the next push: assume room; an object that is
      // in fact full refuses (503 fanout_full) and the Worker asks again, naming it.
      this.entries.set(row.name, {
        name: row.name,
        region: row.region,
        subscribers: 0,
        activation: row.activation,
        acked: 0,
        inFlight: false,
        pending: [],
      });
    }
  }

  get size(): number {
    return this.entries.size;
  }

  /** Subscribers across fan-out objects, as last reported. */
  get subscribers(): number {
    let total = 0;
    for (const entry of this.entries.values()) total += entry.subscribers;
    return total;
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  /** A fan-out object with room for one more subscriber in `region`, created if needed; null if none may be. */
  assign(channel: string, region: string, full: string | null, client: string | null): string | null {
    if (full !== null) {
      const entry = this.entries.get(full);
      if (entry) entry.subscribers = Math.max(entry.subscribers, this.settings.size);
    }
    // The same client goes where its other streams are while there is room (fewer objects per client
    // to ask about; its share is counted by the channel across all of them, see client-shares.ts).
    // Not counted here: if it is refused, nothing changed.
    const sticky = client === null ? undefined : this.entries.get(this.clients.get(client) ?? "");
    if (sticky && sticky.name !== full && sticky.subscribers < this.settings.size) return sticky.name;
    let chosen: Entry | undefined;
    const used = new Set<number>();
    for (const entry of this.entries.values()) {
      if (entry.region !== region) continue;
      used.add(Number(entry.name.slice(entry.name.lastIndexOf("/") + 1)));
      if (entry.subscribers < this.settings.size && (!chosen || entry.subscribers > chosen.subscribers)) chosen = entry;
    }
    if (!chosen) {
      if (this.entries.size >= this.settings.maxObjects) return null;
      let index = 0;
      while (used.has(index)) index += 1;
      chosen = this.add(fanoutName(channel, region, index), region, 0);
    }
    chosen.subscribers += 1;
    if (client !== null) {
      // Bounded: the oldest placements are forgotten first (those clients may land elsewhere once).
      this.clients.delete(client);
      this.clients.set(client, chosen.name);
      if (this.clients.size > MAX_REMEMBERED_CLIENTS) this.clients.delete(this.clients.keys().next().value!);
    }
    return chosen.name;
  }

  /** A fan-out object that gained its first subscriber makes sure the channel pushes to it. */
  ensure(name: string, region: string, activation: number): void {
    const entry = this.entries.get(name) ?? this.add(name, region, activation);
    if (activation > entry.activation) {
      // It went from none to some without saying it was empty: it started again (a crash).
      if (entry.activation > 0) this.events.emptied(name);
      entry.activation = activation;
      this.sql.exec("UPDATE fanouts SET activation = ? WHERE name = ?", activation, name);
    }
  }

  /**
   * After a possible crash between a commit and its pushes: tells every fan-out object that has not
   * confirmed `last` where the channel is (a tick), so its Workers read what they missed.
   */
  reannounce(last: number): void {
    for (const entry of this.entries.values())
      if (entry.acked < last) this.pushTo(entry, last, last, new Uint8Array(0));
  }

  /** Sends a durable batch to every fan-out object. */
  push(from: number, to: number, frames: Uint8Array): void {
    for (const entry of this.entries.values()) this.pushTo(entry, from, to, frames);
  }

  private pushTo(entry: Entry, from: number, to: number, frames: Uint8Array): void {
    const tail = entry.pending[entry.pending.length - 1];
    // Batches that follow on join into one push; a gap (a tick ahead of what is queued) stays separate.
    if (tail && tail.to === from) {
      tail.to = to;
      tail.frames.push(frames);
    } else {
      entry.pending.push({ from, to, frames: [frames] });
    }
    if (!entry.inFlight) void this.flush(entry);
  }

  private async flush(entry: Entry): Promise<void> {
    while (entry.pending.length > 0 && this.entries.get(entry.name) === entry) {
      const { from, to, frames } = entry.pending.shift()!;
      entry.inFlight = true;
      try {
        const stub = objectNamed(this.env.FANOUTS, entry.name);
        const receipt = await stub.deliver(encodeBatch(from, to, concatBytes(frames)));
        entry.acked = Math.max(entry.acked, to);
        this.received(entry, receipt);
      } catch (error) {
        // Its sockets closed with it: their Workers re-dial and fill the gap from history.
        this.log.warn("fan-out push failed", { fanout: entry.name, error: String(error) });
      } finally {
        entry.inFlight = false;
      }
    }
  }

  private received(entry: Entry, receipt: PushReceipt): void {
    if (receipt.tickets) this.events.tickets(entry.name, receipt.tickets);
    entry.subscribers = receipt.subscribers;
    if (receipt.subscribers === 0) this.emptied(entry.name, receipt.activation);
  }

  /**
   * A fan-out object says it has no subscribers left. Forgetting it is safe
   * even if a Worker the channel just sent there is on its way: that
   * Worker's attach is the object's next first subscriber, which registers
   * it again (with a later activation, so a stale "empty" cannot undo it).
   */
  emptied(name: string, activation: number): void {
    const entry = this.entries.get(name);
    if (!entry || activation < entry.activation) return;
    entry.subscribers = 0;
    this.remove(name);
  }

  private add(name: string, region: string, activation: number): Entry {
    this.sql.exec(
      "CREATE TABLE IF NOT EXISTS fanouts (name TEXT PRIMARY KEY, region TEXT NOT NULL, activation INTEGER NOT NULL)",
    );
    this.sql.exec(
      "INSERT INTO fanouts (name, region, activation) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
      name,
      region,
      activation,
    );
    const entry: Entry = {
      name,
      region,
      subscribers: 0,
      activation,
      acked: 0,
      inFlight: false,
      pending: [],
    };
    this.entries.set(name, entry);
    return entry;
  }

  private remove(name: string): void {
    this.entries.delete(name);
    this.events.emptied(name);
    for (const [client, fanout] of this.clients) if (fanout === name) this.clients.delete(client);
    this.sql.exec("DELETE FROM fanouts WHERE name = ?", name);
    // The last one gone: leave no table behind either.
    if (this.entries.size === 0) this.sql.exec("DROP TABLE IF EXISTS fanouts");
  }
}

/** Channel names cannot contain "/", so these never collide with a channel. */
function fanoutName(channel: string, region: string, index: number): string {
  return `${channel}/fanout/${region}/${index}`;
}
