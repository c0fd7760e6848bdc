import type { Problem } from './types';

/**
 * A failed API call: the HTTP `status`, the problem's stable `code` and `detail` (RFC 9457 body in `problem`).
 * Transport failures have status 0 and code API_UNREACHABLE (no answer) or API_TIMEOUT (no answer in time).
 */
export class NotaryApiError extends Error {
  override name = 'NotaryApiError';
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  readonly problem: Problem | null;
  /** Seconds from a Retry-After header (429, 503). */
  readonly retryAfter?: number;
  readonly method: string;
  readonly path: string;

  constructor(init: {
    status: number;
    code: string;
    detail: string;
    problem?: Problem | null;
    retryAfter?: number;
    method: string;
    path: string;
    cause?: unknown;
  }) {
    super(`${init.code}: ${init.detail}`, init.cause === undefined ? undefined : { cause: init.cause });
    this.status = init.status;
    this.code = init.code;
    this.detail = init.detail;
    this.problem = init.problem ?? null;
    this.retryAfter = init.retryAfter;
    this.method = init.method;
    this.path = init.path;
  }

  /** No HTTP answer at all (connection refused or reset, DNS, timeout). */
  get isTransport(): boolean {
    return this.status === 0;
  }
}
