/**
 * Each client's streams on a channel's fan-out objects, counted in one
 * place: the channel object, which places every stream, so a client gains
 * nothing by having its streams spread over several objects. Its own
 * sockets the channel counts from their attachments (BridgeSockets.countClient);
 * this ledger is the rest.
 *
 * Each stream the channel sends to a fan-out object gets a ticket (in the
 * redirect; the Worker hands it to the fan-out object, which keeps it in the
 * socket's attachment). What happens to tickets reaches the channel without
 * a call of its own:
 * - a fan-out object tells which tickets it accepted and released (closed
 *   or refused) on the calls it makes anyway: its push receipts, presence
 *   counts, and "emptied";
 * - a Worker that re-dials (its object restarted, or was full) names the
 *   ticket its new stream replaces.
 * So a closed stream may count until the next publish. It never costs its
 * client a place: before refusing a client, the channel asks the fan-out
 * objects holding its tickets which are open (their answer carries the
 * closes they have not reported yet), at most once per object per CHECK_MS,
 * and counts again.
 *
 * What can still be counted that is not there, only ever against its own
 * client: a ticket whose Worker never reached the fan-out object (it ended
 * in between) counts until a check finds it CONFIRM_MS old and not open.
 * What can be missed: a stream whose Worker takes longer than CONFIRM_MS
 * between the channel and the fan-out object, until that object's next
 * report names it.
 *
 * Nothing here is stored: after the channel object restarts (hibernation
 * included), it asks every fan-out object once for its open tickets before
 * it counts anyone (`load`). Memory is bounded: a ticket per stream, and
 * past `bound` the channel checks every object before it adds one.
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

/** A fan-out object's answer to a check: its open tickets, and the releases it had not reported. */
export interface OpenTickets {
  readonly open: readonly Ticketed[];
  readonly released: readonly string[];
}

/** What the ledger asks of the fan-out objects. */
export interface FanoutDirectory {
  /** The fan-out objects the channel pushes to now. */
  names(): readonly string[];
  tickets(fanout: string): Promise<OpenTickets>;
}

/** A ticket not seen open this long after it was handed out: its Worker never arrived. */
export const CONFIRM_MS = 10_000;
/** How often at most the channel checks one fan-out object's tickets. */
export const CHECK_MS = 1_000;

interface Placement {
  readonly client: string;
  readonly fanout: string;
  /** When it was handed out (or learnt of). */
  readonly at: number;
  /** The step (see ClientShares.step) at which its fan-out object said it had it; null: not yet. */
  confirmed: number | null;
}

export class ClientShares {
  private readonly placements = new Map<string, Placement>();
  private readonly byClient = new Map<string, Set<string>>();
  private readonly byFanout = new Map<string, Set<string>>();
  /** When each fan-out object was last checked, and the checks in flight. */
  private readonly checkedAt = new Map<string, number>();
  private readonly checking = new Map<string, Promise<void>>();
  /** Tickets released while a check is in flight: its answer may be older and must not bring them back. */
  private releasedMeanwhile: Set<string> | null = null;
  private loading: Promise<void> | null = null;
  private ready: boolean;
  /** Orders reports and checks: an answer says nothing of a ticket confirmed after it was asked for. */
  private step = 0;
  /** Tickets are this instance's random prefix and a counter: unique across restarts, without storage. */
  private readonly prefix = Math.floor(Math.random() * 36 ** 8).toString(36);
  private counter = 0;

  /**
   * `loaded`: false when the channel starts with fan-out objects already (after a restart): their
   * tickets are asked for before anyone is counted.
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

  /** Tickets held. */
  get size(): number {
    return this.placements.size;
  }

  /** True when no ticket may be added (see `checkAll`). */
  get full(): boolean {
    return this.placements.size >= this.bound;
  }

  /** The client's streams on fan-out objects. */
  count(client: string): number {
    return this.byClient.get(client)?.size ?? 0;
  }

  /** A stream of `client` sent to `fanout`: its ticket. */
  place(client: string, fanout: string): string {
    this.counter += 1;
    const ticket = `${this.prefix}.${this.counter.toString(36)}`;
    this.add(ticket, { client, fanout, at: this.now(), confirmed: null });
    return ticket;
  }

  /** A Worker re-dialling names the ticket of the stream it replaces (its own client's only). */
  replace(client: string, ticket: string): void {
    const placement = this.placements.get(ticket);
    if (placement && placement.client !== client) return;
    this.release(ticket);
  }

  /** A fan-out object's report. */
  report(fanout: string, report: TicketReport): void {
    this.step += 1;
    for (const { ticket, client } of report.accepted) {
      const placement = this.placements.get(ticket);
      if (placement) placement.confirmed ??= this.step;
      // Unknown: handed out before a restart, or dropped by a check before its Worker arrived.
      else if (!this.releasedMeanwhile?.has(ticket))
        this.add(ticket, { client, fanout, at: this.now(), confirmed: this.step });
    }
    for (const ticket of report.released) this.release(ticket);
  }

  /**
   * A fan-out object holds none of the streams it held before (it reported itself empty, or it
   * started again after a crash): its confirmed tickets go; the others may be on their way to it.
   */
  emptied(fanout: string): void {
    for (const ticket of this.byFanout.get(fanout) ?? []) {
      const placement = this.placements.get(ticket)!;
      if (placement.confirmed !== null) this.drop(ticket, placement);
    }
  }

  /** Before refusing `client`: checks the fan-out objects holding its tickets (see CHECK_MS). */
  async recheck(client: string): Promise<void> {
    const fanouts = new Set<string>();
    for (const ticket of this.byClient.get(client) ?? []) fanouts.add(this.placements.get(ticket)!.fanout);
    await this.checkDue(fanouts);
  }

  /** At the bound: checks every fan-out object holding tickets (see CHECK_MS). */
  async checkAll(): Promise<void> {
    await this.checkDue(this.byFanout.keys());
  }

  private async checkDue(fanouts: Iterable<string>): Promise<void> {
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
    const askedAt = this.now();
    this.checkedAt.set(fanout, askedAt);
    this.releasedMeanwhile ??= new Set();
    this.step += 1;
    const asked = this.step;
    const question = this.directory
      .tickets(fanout)
      .then(
        (answer) => this.agree(fanout, answer, asked, askedAt),
        () => {
          // Unreachable: its tickets stay as they are (its reports or a later check correct them).
        },
      )
      .finally(() => {
        this.checking.delete(fanout);
        if (this.checking.size === 0) this.releasedMeanwhile = null;
      });
    this.checking.set(fanout, question);
    return question;
  }

  /** `asked`, `askedAt`: the step and the time the question was asked at. */
  private agree(fanout: string, answer: OpenTickets, asked: number, askedAt: number): void {
    for (const ticket of answer.released) this.release(ticket);
    const open = new Set(answer.open.map(({ ticket }) => ticket));
    for (const ticket of this.byFanout.get(fanout) ?? []) {
      const placement = this.placements.get(ticket)!;
      if (open.has(ticket)) placement.confirmed ??= asked;
      // Not open: closed if the object had it before the question (a confirmation since may be newer
      // than the answer); never arrived if handed out CONFIRM_MS before it; else maybe on its way.
      else if (placement.confirmed === null ? placement.at <= askedAt - CONFIRM_MS : placement.confirmed < asked)
        this.drop(ticket, placement);
    }
    for (const { ticket, client } of answer.open) {
      if (this.placements.has(ticket) || this.releasedMeanwhile?.has(ticket)) continue;
      this.add(ticket, { client, fanout, at: askedAt, confirmed: asked });
    }
  }

  private release(ticket: string): void {
    this.releasedMeanwhile?.add(ticket);
    const placement = this.placements.get(ticket);
    if (placement) this.drop(ticket, placement);
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
