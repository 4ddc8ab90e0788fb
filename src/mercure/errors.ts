/**
 * A request the Mercure hub refuses: a status, a stable code and a sentence,
 * answered in the relay's one refusal shape `{"error": code, "message": …}`
 * (draft-dunglas-mercure-08 fixes statuses and the `WWW-Authenticate`
 * challenges, not the body). Authorization failures use the RFC 6750 codes
 * (`invalid_request`, `invalid_token`, `insufficient_scope`) and carry the
 * challenge in `headers`.
 */
import { errorResponse } from "../error-response";

export type MercureStatus = 400 | 401 | 403 | 413;

export class MercureRefused extends Error {
  constructor(
    readonly status: MercureStatus,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
    /** Why, for the operator's log only: token refusals all answer the same sentence (draft-08 §Error Responses). */
    readonly reason?: string,
  ) {
    super(message);
    this.name = "MercureRefused";
  }

  toResponse(): Response {
    return errorResponse(this.status, this.code, this.message, this.headers);
  }
}

/** A malformed request (draft-08 §Publication, §Subscription): 400 `invalid_request`. */
export function badRequest(message: string): MercureRefused {
  return new MercureRefused(400, "invalid_request", message);
}

/** Past an implementation-defined size limit (draft-08 §Publication): 413. */
export function tooLarge(message: string): MercureRefused {
  return new MercureRefused(413, "too_large", message);
}
