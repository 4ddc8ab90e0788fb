/** The MercureRefused a call throws (its status and message are the hub's answer); fails if it returns. */
import { MercureRefused } from "../../src/mercure/errors";

export function refusal(run: () => unknown): MercureRefused {
  try {
    run();
  } catch (error) {
    if (error instanceof MercureRefused) return error;
    throw error;
  }
  throw new Error("expected a MercureRefused");
}
