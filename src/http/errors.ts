/**
 * Every refusal the relay makes is an ApiError: a status, a stable
 * machine-readable code and a sentence for humans, sent as
 * `{"error": code, "message": sentence}`.
 */
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { errorResponse } from "../error-response";

export { errorResponse };

export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "ApiError";
  }

  toResponse(): Response {
    return errorResponse(this.status, this.code, this.message, this.headers);
  }
}
