// Classifying API errors from @kubernetes/client-node (ApiException carries the HTTP code).
export function statusCode(err: unknown): number | undefined {
  if (err && typeof err === 'object') {
    const e = err as { code?: unknown; statusCode?: unknown };
    if (typeof e.code === 'number') return e.code;
    if (typeof e.statusCode === 'number') return e.statusCode;
  }
  return undefined;
}
export const isConflict = (err: unknown): boolean => statusCode(err) === 409;
export const isNotFound = (err: unknown): boolean => statusCode(err) === 404;

/** The Status message from an ApiException body, or the error's own message. */
export function bodyMessage(err: unknown): string {
  if (err && typeof err === 'object') {
    const body = (err as { body?: unknown }).body;
    if (typeof body === 'string') {
      try { const s = JSON.parse(body) as { message?: string }; if (s.message) return s.message; } catch { return body; }
    } else if (body && typeof body === 'object' && 'message' in body) {
      return String((body as { message: unknown }).message);
    }
    if (err instanceof Error) return err.message;
  }
  return String(err);
}
