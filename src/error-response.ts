/**
 * The relay's one shape of refusal, `{"error": code, "message": sentence}`,
 * used by the HTTP layer and by the objects that answer the Worker.
 */
interface ErrorBody {
  error: string;
  message: string;
}

export function errorResponse(
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): Response {
  const body: ErrorBody = { error: code, message };
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json; charset=utf-8", ...headers },
  });
}
