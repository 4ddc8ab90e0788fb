/**
 * Two ways a test ends a Durable Object's instance, as production does:
 *
 * - restart(): evictDurableObject, like an idle eviction or a redeploy. The runtime first lets the
 *   object's live requests drain (a publish in flight completes), then drops the instance and
 *   closes its WebSockets. It refuses an object that is not running (nothing to drop: its next
 *   request starts a new instance anyway) and, after waiting about 30 s, one that something still
 *   holds references to; either refusal means no restart happened, which the caller may count.
 *   Any other error is a failure.
 * - crash(): the instance aborts at once (DurableObjectState.abort), like an exception that breaks
 *   it or a machine lost: requests in flight fail, its WebSockets drop. It always happens, at once.
 */
import { evictDurableObject, runInDurableObject } from "cloudflare:test";

const REFUSED = /not currently running|still has active references/;

/** True if a running instance was dropped; false if the runtime refused (see above). */
export async function restart(stub: DurableObjectStub): Promise<boolean> {
  try {
    await evictDurableObject(stub, { webSockets: "close" });
    return true;
  } catch (error) {
    if (error instanceof Error && REFUSED.test(error.message)) {
      console.warn(`restart refused: ${error.message}`);
      return false;
    }
    throw error;
  }
}

/** Aborts the object's instance (starting one if none runs). */
export async function crash(stub: DurableObjectStub, reason = "simulated crash"): Promise<void> {
  await runInDurableObject(stub, (_instance, state) => state.abort(reason)).catch((error: unknown) => {
    // The abort surfaces as the call's own failure, carrying the reason; anything else is a failure.
    if (!(error instanceof Error && error.message.includes(reason))) throw error;
  });
}
