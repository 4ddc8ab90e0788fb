/**
 * Each client's streams on a channel's fan-out objects, counted in one
 * place: the channel object, which places every stream (so no client gains
 * anything by having its streams spread over several objects). Its own
 * sockets it counts from their attachments (SocketHub.countClient); this
 * ledger is the rest.
 *
 * Each stream the channel sends to a fan-out object gets a ticket (in the
 * redirect; the Worker hands it to the fan-out object, which keeps it in
 * the socket's attachment). The fan-out object reports, in batches and in
 * order, the tickets it accepted (confirmed) and the tickets it closed or
 * refused (released), on the calls it makes to the channel anyway where it
 * can (presence, "emptied"). So the count of a client is exact except:
 * - a ticket whose Worker never reached the fan-out object (it ended, or
 *   crashed, in between) counts until it is CONFIRM_MS old unconfirmed: it
 *   only ever counts against its own client;
 * - a report lost on the way (the channel was restarting) counts a closed
 *   stream until the channel checks: before it refuses a client, it asks
 *   the objects holding that client's confirmed tickets which are still
 *   open (at most once per object per CHECK_MS);
 * - a fan-out object that crashed: its confirmed tickets are dropped when
 *   it starts again (its first stream), or by that check.
 *
 * Nothing here is stored: after the channel object restarts (hibernation
 * included), it asks every fan-out object once for the tickets it holds,
 * before it counts anyone (`load`). Memory is bounded: a ticket per
 * stream, at most `bound` (the channel refuses new tickets past it).
 */

/** A stream's ticket and whose share it counts against. */
export interface Ticketed {
  readonly ticket: string;
  readonly client: string;
}

/** The tickets a fan-out object accepted and released since its last report. */
export interface TicketReport {
  readonly accepted: readonly Ticketed[];
  readonly released: readonly string[];
}

/** What the ledger asks of the fan-out objects. */
export interface FanoutDirectory {
  /** The fan-out objects the channel pushes to now. */
  names(): readonly string[];
  /** The tickets a fan-out object's open streams carry, with their client. */
  tickets(fanout: string): Promise<readonly Ticketed[]>;
}

/** An unconfirmed ticket older than this is taken for a Worker that never arrived. */
export const CONFIRM_MS = 10_000;
/** How often at most the channel asks one fan-out object which tickets are still open (before a refusal). */
export const CHECK_MS = 1_000;

interface Placement {
  readonly client: string;
  readonly fanout: string;
  readonly at: number;
  /** When the fan-out object confirmed it (a step of this ledger, see `step`); null: not yet. */
  confirmed: number | null;
}

export class ClientShares {
  private readonly placements = new Map<string, Placement>();
  private readonly byClient = new Map<string, Set<string>>();
  private readonly byFanout = new Map<string, Set<string>>();
  /** When each fan-out object was last asked for its tickets, and the question in flight. */
  private readonly checkedAt = new Map<string, number>();
  private readonly checking = new Map<string, Promise<void>>();
  /** Tickets released while a question is in flight: its answer, older, must not bring them back. */
  private released: Set<string> | null = null;
  private loading: Promise<void> | null = null;
  private ready = false;
  /** Orders confirmations and questions: an answer says nothing of a ticket confirmed after it was asked. */
  private step = 0;
  /** Tickets are this instance's prefix and a counter: unique across restarts without storage. */
  private readonly prefix = Math.floor(Math.random() * 36 ** 6).toString(36);
  private counter = 0;

  /**
   * `loaded`: false when the channel starts with fan-out objects already (after a restart): the
   * tickets they hold are asked for before anyone is counted.
   */
  constructor(
    private readonly directory: FanoutDirectory,
    private readonly bound: number,
    loaded: boolean,
    private readonly now: () => number = Date.now,
  ) {
    this.ready = loaded;
  }

  /** True once the ledger may be read (see `load`). */
  get loaded(): boolean {
    return this.ready;
  }

  /** After a restart: every fan-out object's open tickets, once (later calls wait for the same). */
  load(): Promise<void> {
    this.loading ??= Promise.all(this.directory.names().map((fanout) => this.check(fanout))).then(() => {
      this.ready = true;
    });
    return this.loading;
  }

  /** Tickets the ledger holds. */
  get size(): number {
    return this.placements.size;
  }

  /** True when no ticket can be added (after dropping unconfirmed ones that are too old). */
  get full(): boolean {
    if (this.placements.size < this.bound) return false;
    const stale = this.now() - CONFIRM_MS;
    for (const [ticket, placement] of this.placements) {
      if (placement.confirmed === null && placement.at < stale) this.drop(ticket, placement);
    }
    return this.placements.size >= this.bound;
  }

  /** The client's streams on fan-out objects (an unconfirmed ticket counts until CONFIRM_MS old). */
  count(client: string): number {
    const tickets = this.byClient.get(client);
    if (!tickets) return 0;
    const stale = this.now() - CONFIRM_MS;
    for (const ticket of tickets) {
      const placement = this.placements.get(ticket)!;
      if (placement.confirmed === null && placement.at < stale) this.drop(ticket, placement);
    }
    return tickets.size;
  }

  /** A stream of `client` sent to `fanout`: its ticket. */
  place(client: string, fanout: string): string {
    this.counter += 1;
    const ticket = `${this.prefix}.${this.counter.toString(36)}`;
    this.add(ticket, { client, fanout, at: this.now(), confirmed: null });
    return ticket;
  }

  /** A fan-out object's report. */
  report(fanout: string, report: TicketReport): void {
    this.step += 1;
    for (const { ticket, client } of report.accepted) {
      const placement = this.placements.get(ticket);
      if (placement) placement.confirmed = this.step;
      // Unknown: placed before a restart, or dropped as stale before its Worker arrived.
      else this.add(ticket, { client, fanout, at: this.now(), confirmed: this.step });
    }
    for (const ticket of report.released) {
      this.released?.add(ticket);
      const placement = this.placements.get(ticket);
      if (placement) this.drop(ticket, placement);
    }
  }

  /**
   * A fan-out object holds none of the streams it held before (it reported itself empty, or started
   * again after a crash): its confirmed tickets go. Unconfirmed ones may be on their way to it.
   */
  emptied(fanout: string): void {
    for (const ticket of this.byFanout.get(fanout) ?? []) {
      const placement = this.placements.get(ticket)!;
      if (placement.confirmed !== null) this.drop(ticket, placement);
    }
  }

  /**
   * Before refusing `client`: asks the fan-out objects holding its confirmed tickets which are still
   * open (a close whose report was lost), each at most once per CHECK_MS.
   */
  async recheck(client: string): Promise<void> {
    const fanouts = new Set<string>();
    for (const ticket of this.byClient.get(client) ?? []) {
      const placement = this.placements.get(ticket)!;
      if (placement.confirmed !== null) fanouts.add(placement.fanout);
    }
    const now = this.now();
    const due = [...fanouts].filter(
      (fanout) => this.checking.has(fanout) || now - (this.checkedAt.get(fanout) ?? -Infinity) >= CHECK_MS,
    );
    await Promise.all(due.map((fanout) => this.check(fanout)));
  }

  /** Asks one fan-out object for its open tickets and makes the ledger agree. */
  private check(fanout: string): Promise<void> {
    const running = this.checking.get(fanout);
    if (running) return running;
    this.checkedAt.set(fanout, this.now());
    this.released ??= new Set();
    this.step += 1;
    const asked = this.step;
    const question = this.directory
      .tickets(fanout)
      .then(
        (open) => this.agree(fanout, open, asked),
        () => {
          // Unreachable: its tickets stay as they are (a later check, or its reports, correct them).
        },
      )
      .finally(() => {
        this.checking.delete(fanout);
        if (this.checking.size === 0) this.released = null;
      });
    this.checking.set(fanout, question);
    return question;
  }

  /** `asked`: the step the question was asked at. */
  private agree(fanout: string, open: readonly Ticketed[], asked: number): void {
    const held = new Set(open.map(({ ticket }) => ticket));
    for (const ticket of this.byFanout.get(fanout) ?? []) {
      const placement = this.placements.get(ticket)!;
      if (held.has(ticket)) placement.confirmed ??= asked;
      // Confirmed before the question and no longer open: closed, its report lost. Unconfirmed: maybe
      // on its way there. Confirmed since: the answer may be older than the stream.
      else if (placement.confirmed !== null && placement.confirmed < asked) this.drop(ticket, placement);
    }
    for (const { ticket, client } of open) {
      if (this.placements.has(ticket) || this.released?.has(ticket)) continue;
      this.add(ticket, { client, fanout, at: this.now(), confirmed: asked });
    }
  }

  private add(ticket: string, placement: Placement): void {
    this.placements.set(ticket, placement);
    setOf(this.byClient, placement.client).add(ticket);
    setOf(this.byFanout, placement.fanout).add(ticket);
  }

  private drop(ticket: string, placement: Placement): void {
    this.placements.delete(ticket);
    unset(this.byClient, placement.client, ticket);
    unset(this.byFanout, placement.fanout, ticket);
  }
}

function setOf(map: Map<string, Set<string>>, key: string): Set<string> {
  let set = map.get(key);
  if (!set) {
    set = new Set();
    map.set(key, set);
  }
  return set;
}

function unset(map: Map<string, Set<string>>, key: string, value: string): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) map.delete(key);
}
