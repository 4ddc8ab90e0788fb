/**
 * When streams that drain nothing are cut as stalled (a dead peer whose
 * disconnect was never reported), and when they are not: if the process
 * holding them is behind on its own work (overload), every stream looks
 * stalled because it could not run, and cutting them would add a reconnect
 * storm to the overload.
 *
 * "Behind" must be impossible for a client to claim by opening many streams
 * that never read, so it is judged by what one client cannot fake: a tick
 * that ran a whole interval late, or stalled streams spread over many
 * distinct clients (token subject or address, see src/http/client-key.ts).
 * One client's stalled streams count once, however many it opens.
 */

/**
 * Stalled-looking streams are exempt from being cut when this holds: the tick ran a whole interval
 * late, or most clients' streams (at least two clients) look stalled at once. Dead peers are a
 * minority that gets reaped; an overloaded process stalls nearly everyone.
 */
export function isOverloaded(tickLateMs: number, intervalMs: number, stalledClients: number, clients: number): boolean {
  return tickLateMs > intervalMs || (stalledClients >= 2 && stalledClients > clients / 2);
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
