/**
 * The error catalogue: every error the dashboard answers with has a stable code and an HTTP status here,
 * and is rendered by exactly one handler (`api/error-reply.ts`) as `{"error": "<message>"}` (spec §5).
 * Messages follow Nuclio's wording where clients match substrings of them.
 */

/** Stable error codes and the HTTP status each answers with. */
export const ERROR_STATUS = {
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  Conflict: 409,
  PreconditionFailed: 412,
  PayloadTooLarge: 413,
  UnsupportedMediaType: 415,
  Internal: 500,
  NotImplemented: 501,
  BadGateway: 502,
  Unavailable: 503,
  GatewayTimeout: 504,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** An error that carries its HTTP status. Anything else that reaches the error handler is a 500. */
export class ApiError extends Error {
  readonly status: number;
  constructor(readonly code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ApiError';
    this.status = ERROR_STATUS[code];
  }
}

export const badRequest = (message: string) => new ApiError('BadRequest', message);
export const notFound = (message: string) => new ApiError('NotFound', message);
export const conflict = (message: string) => new ApiError('Conflict', message);
export const preconditionFailed = (message: string) => new ApiError('PreconditionFailed', message);
export const unauthorized = (message: string) => new ApiError('Unauthorized', message);

/** A field-level validation failure: names the field and quotes the value. */
export class FieldError extends ApiError {
  constructor(readonly field: string, message: string) {
    super('BadRequest', message);
    this.name = 'FieldError';
  }
}

/** The status an arbitrary thrown value answers with. */
export function statusOf(err: unknown): number {
  return err instanceof ApiError ? err.status : 500;
}

/** A short printable form of a value for error messages (quoted, cut to 80 characters). */
export function quote(value: unknown): string {
  let s: string;
  try {
    s = typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value) ?? String(value);
  } catch {
    s = String(value);
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
