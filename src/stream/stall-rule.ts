/**
 * When streams that drain nothing are cut as stalled (a dead peer whose
 * disconnect was never reported), and when they are not: if the process
 * holding them is behind on its own work (overload), many streams look
 * stalled because it could not run, and cutting them would add a reconnect
 * storm to the overload.
 *
 * "Behind" must be impossible for a client to claim by opening many streams
 * that never read, so it is judged by what one client cannot fake: a tick
 * that ran a whole interval late, or stalled streams spread over many
 * distinct clients (token subject or address, see src/http/client-key.ts).
 * One client's stalled streams count once, however many it opens; and no
 * exemption lasts past MAX_STALLED_TICKS.
 */

/**
 * Consecutive stalled ticks after which a stream is cut whatever else is stalled: 3 × HEARTBEAT_MS
 * without draining a byte is a dead peer even in an overload, so even exempted streams are reaped.
 */
const MAX_STALLED_TICKS = 6;

/**
 * Whether a stream that drained nothing for `stalledTicks` consecutive ticks is cut now: from the
 * second such tick (a stream only behind usually drains by then; a dead peer never does), but not
 * while the process looks behind on its own work (the tick ran a whole interval late, or the streams
 * of more than a tenth of the clients, at least two, look stalled at once), unless it has been
 * stalled for MAX_STALLED_TICKS.
 */
export function shouldCut(
  stalledTicks: number,
  tick: { readonly lateMs: number; readonly intervalMs: number },
  stalledClients: number,
  clients: number,
): boolean {
  if (stalledTicks >= MAX_STALLED_TICKS) return true;
  const overloaded = tick.lateMs > tick.intervalMs || (stalledClients >= 2 && stalledClients > clients / 10);
  return stalledTicks >= 2 && !overloaded;
}

/**
 * Distinct clients among a set of streams, incrementally: each stream is
 * added under its client key (or a key of its own when its client is not
 * known, so unknown streams count one each).
 */
export class ClientCount {
  private readonly counts = new Map<unknown, number>();

  get distinct(): number {
    return this.counts.size;
  }

  add(key: unknown): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  remove(key: unknown): void {
    const count = this.counts.get(key) ?? 0;
    if (count <= 1) this.counts.delete(key);
    else this.counts.set(key, count - 1);
  }
}
