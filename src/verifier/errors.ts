/** Closed set of codes a {@link VerifierError} can carry. */
export type VerifierErrorCode =
  'ROOT_SOURCE_UNAVAILABLE' | 'CHAIN_ID_MISMATCH' | 'REGISTRY_NOT_TRUSTED' | 'CHAIN_CALL_FAILED' | 'INVALID_ARGUMENT';

/** Error of the verifier's adapters (root sources). `verifyReceipt` itself never throws. */
export class VerifierError extends Error {
  readonly code: VerifierErrorCode;

  constructor(opts: { code: VerifierErrorCode; message: string; cause?: unknown }) {
    super(opts.message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = this.constructor.name;
    this.code = opts.code;
  }
}

/** Wraps any lower-level failure into a coded {@link VerifierError} (keeps it as `cause`). */
export function verifierError(err: unknown, code: VerifierErrorCode, message: string): never {
  if (err instanceof VerifierError) throw err;
  const detail = err instanceof Error ? `: ${err.message}` : '';
  throw new VerifierError({ code, message: `${message}${detail}`, cause: err });
}
