/** MAX_BODY_BYTES on request bodies: 413 with the relay's JSON error past it. Built once per configuration. */
import { bodyLimit } from "hono/body-limit";
import type { RelayConfig } from "../config";
import { oncePer } from "../once-per";
import { errorResponse } from "./errors";

export const bodyLimitFor = oncePer(({ maxBodyBytes }: RelayConfig) =>
  bodyLimit({
    maxSize: maxBodyBytes,
    onError: () =>
      errorResponse(413, "body_too_large", `The request body is larger than ${maxBodyBytes} bytes (MAX_BODY_BYTES).`),
  }),
);
