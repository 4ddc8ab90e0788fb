/**
 * Restarts a Durable Object the way a crash or a redeploy would: its instance is dropped and
 * its WebSockets closed (evictDurableObject). An object that is not running (hibernating, or
 * never woken) has nothing to drop, and its next request starts a new instance anyway, so the
 * runtime's refusal for it is not a failure; any other error is.
 */
import { evictDurableObject } from "cloudflare:test";

const NOT_RUNNING = /not currently running/;

/** True if a running instance was dropped. */
export async function restart(stub: DurableObjectStub): Promise<boolean> {
  try {
    await evictDurableObject(stub, { webSockets: "close" });
    return true;
  } catch (error) {
    if (error instanceof Error && NOT_RUNNING.test(error.message)) return false;
    throw error;
  }
}
