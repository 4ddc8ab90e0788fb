/**
 * Bounds on history replay, so one cheap request (`?lastEventId=0`) cannot
 * make a channel read and hand out its whole history again and again:
 * - per stream, a byte rate and a total (ReplayAllowance): past the total the
 *   stream ends cleanly and the browser resumes where it was, on a new
 *   connection (which costs it a request);
 * - per channel, how many streams may be catching up at once (ReplayGate):
 *   the others wait their turn, they are not refused, so a reconnect storm
 *   after a deploy still catches everyone up; a stream with at most a page
 *   left never waits, and no client takes more than its share.
 * Pure bookkeeping on timestamps: no timers (objects must hibernate).
 */

import type { ReplaySettings } from "../config";

/**
 * Bytes of history one page carries for a stream with this buffer: half of it, so a page never
 * fills a stream's whole budget. The Worker's catch-up and the channel's first page at attach use it.
 */
export function replayPageBytes(bufferBytes: number): number {
  return Math.ceil(bufferBytes / 2);
}

export type Allowance = { readonly ok: true } | { readonly waitMs: number } | { readonly exhausted: true };

/** One stream's replay budget: a token bucket of one second's bytes, and a total. */
export class ReplayAllowance {
  private tokens: number;
  private taken = 0;
  private at: number;

  constructor(
    private readonly settings: Pick<ReplaySettings, "bytesPerSecond" | "maxBytesPerStream">,
    now = Date.now(),
  ) {
    this.tokens = settings.bytesPerSecond;
    this.at = now;
  }

  /** May `bytes` more be replayed now? (A page larger than a second's worth passes a full bucket.) */
  check(bytes: number, now = Date.now()): Allowance {
    if (this.taken >= this.settings.maxBytesPerStream) return { exhausted: true };
    const rate = this.settings.bytesPerSecond;
    this.tokens = Math.min(rate, this.tokens + ((now - this.at) / 1000) * rate);
    this.at = now;
    if (this.tokens >= Math.min(bytes, rate)) return { ok: true };
    return { waitMs: Math.ceil(((Math.min(bytes, rate) - this.tokens) / rate) * 1000) };
  }

  /** Records bytes actually replayed. */
  took(bytes: number): void {
    this.tokens -= bytes;
    this.taken += bytes;
  }
}

/** A holder that asked for no page for this long no longer holds its slot. */
const LEASE_MS = 2_000;
/** How long a page takes to be asked for, read and sent, roughly: a waiting stream's turn comes after its place × this. */
const TURN_MS = 100;
/** The longest a waiting stream is told to wait before asking again (it keeps its place). */
const MAX_WAIT_MS = 2_000;
/** A stream catching up for this long (waiting or reading) may take a reserved slot, oldest first. */
const OVERDUE_MS = 5_000;

/** What the gate is told of a stream asking for a page of history. */
export interface CatchUp {
  /** Whose stream it is: the client key, or the stream itself when the client is not known. Shares are per client. */
  readonly client: unknown;
  /** Retained events between the stream's cursor and the head: 0 is nothing to read. Fewest go first. */
  readonly behind: number;
  /** The page about to be served reaches the head: the catch-up ends with it. */
  readonly lastPage: boolean;
}

interface Contender {
  client: unknown;
  behind: number;
  /** When it first asked in this catch-up: kept while it waits, reads, or is sent back to wait. */
  readonly since: number;
  /** When it last asked, and the wait it was told then (0 while it holds a slot). */
  at: number;
  told: number;
  holding: boolean;
}

/**
 * Which streams of a channel are catching up: at most `concurrency` read at
 * once. A stream with nothing to read, or whose rest fits in the page about
 * to be served, passes without a slot (a resume a few events back, or a live
 * stream that missed one, never waits behind history readers). The others
 * are ranked at each ask:
 * - a quarter of the slots (at least one) are reserved for streams catching
 *   up for OVERDUE_MS or more, oldest first: everyone progresses (no
 *   starvation), since nobody who comes later is ever older;
 * - the other slots go to the fewest events behind (ties: who came first),
 *   so a short catch-up is not stuck behind `?lastEventId=0` readers of a
 *   long history;
 * - no client takes more than its fair share: the smallest cap L with
 *   Σ min(streams of the client, L) ≥ concurrency, i.e. ceil(concurrency /
 *   clients) when all want more, any slots the others leave unused otherwise.
 * A holder that is no longer ranked in (someone came who goes first, or its
 * client is over its share) is sent back to wait at its next ask, keeping its
 * age; its slot is taken by the first ranked stream to ask. Waiting streams
 * are told to ask again when their turn should be near. Pure bookkeeping on
 * the `now` given: a holder that stops asking loses its slot after LEASE_MS,
 * a waiter that stops asking is forgotten LEASE_MS after it was due back.
 */
export class ReplayGate {
  private readonly contenders = new Map<unknown, Contender>();
  private readonly reserved: number;

  constructor(private readonly concurrency: number) {
    this.reserved = Math.max(1, Math.floor(concurrency / 4));
  }

  /** 0 if `stream` may read a page now (it holds a slot while it keeps asking), else how long to wait. */
  enter(stream: unknown, ask: CatchUp, now = Date.now()): number {
    if (ask.behind <= 0 || ask.lastPage) {
      // Nothing to read, or the last page: answered outside the gate, and any slot it held is free.
      this.contenders.delete(stream);
      return 0;
    }
    this.expire(now);
    let self = this.contenders.get(stream);
    if (self === undefined) {
      self = { client: ask.client, behind: ask.behind, since: now, at: now, told: 0, holding: false };
      this.contenders.set(stream, self);
    } else {
      self.client = ask.client;
      self.behind = ask.behind;
      self.at = now;
    }
    const { chosen, rest } = this.rank(now);
    if (chosen.has(self)) {
      let holders = 0;
      for (const contender of this.contenders.values()) if (contender.holding) holders += 1;
      if (self.holding || holders < this.concurrency) {
        self.holding = true;
        self.told = 0;
        return 0;
      }
      // Its slot is still held by one sent back at its next ask (or lapsing): very soon.
      self.told = TURN_MS;
      return TURN_MS;
    }
    self.holding = false;
    self.told = Math.min(MAX_WAIT_MS, (rest.indexOf(self) + 1) * TURN_MS);
    return self.told;
  }

  /** The stream caught up (or ended): its slot is free at once. */
  leave(stream: unknown): void {
    this.contenders.delete(stream);
  }

  private expire(now: number): void {
    for (const [key, contender] of this.contenders) {
      if (now - contender.at > contender.told + LEASE_MS) this.contenders.delete(key);
    }
  }

  /** Who should hold the slots now (reserved lane, then fewest behind, within each client's share); the rest in order. */
  private rank(now: number): { chosen: Set<Contender>; rest: Contender[] } {
    const all = [...this.contenders.values()];
    const cap = this.fairShare(all);
    const taken = new Map<unknown, number>();
    const chosen = new Set<Contender>();
    const take = (contender: Contender): void => {
      const count = taken.get(contender.client) ?? 0;
      if (chosen.size >= this.concurrency || chosen.has(contender) || count >= cap) return;
      chosen.add(contender);
      taken.set(contender.client, count + 1);
    };
    const overdue = all.filter((contender) => now - contender.since >= OVERDUE_MS).sort((a, b) => a.since - b.since);
    for (const contender of overdue) {
      if (chosen.size >= this.reserved) break;
      take(contender);
    }
    const byBehind = all.sort((a, b) => a.behind - b.behind || a.since - b.since);
    for (const contender of byBehind) take(contender);
    return { chosen, rest: byBehind.filter((contender) => !chosen.has(contender)) };
  }

  /** The most slots one client may hold: the smallest L with Σ min(its streams, L) ≥ the slots wanted. */
  private fairShare(all: readonly Contender[]): number {
    const perClient = new Map<unknown, number>();
    for (const contender of all) perClient.set(contender.client, (perClient.get(contender.client) ?? 0) + 1);
    const wanted = Math.min(this.concurrency, all.length);
    for (let cap = 1; ; cap++) {
      let slots = 0;
      for (const count of perClient.values()) slots += Math.min(count, cap);
      if (slots >= wanted) return cap;
    }
  }
}
