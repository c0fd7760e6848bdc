/** Closed set of codes a {@link DomainError} can carry. */
export type DomainErrorCode =
  | 'DIGEST_NOT_CANONICALIZABLE'
  | 'INVALID_HEX32'
  | 'INVALID_RECORD_ID'
  | 'INVALID_ARGUMENT'
  | 'INVALID_PARENTS'
  | 'RECEIPT_INVALID'
  | 'LINEAGE_VIOLATION'
  | 'PAYLOAD_INVALID'
  | 'UNKNOWN_RECORD_TYPE'
  | 'MERKLE_EMPTY'
  | 'MERKLE_INDEX_OUT_OF_RANGE';

/** The one error class of `src/domain`: a stable `code`, the invalid field paths when known, and the `cause`. */
export class DomainError extends Error {
  readonly code: DomainErrorCode;
  readonly fields?: string[];

  constructor(opts: { code: DomainErrorCode; message: string; fields?: string[]; cause?: unknown }) {
    super(opts.message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = this.constructor.name;
    this.code = opts.code;
    if (opts.fields !== undefined) this.fields = opts.fields;
  }
}

/** Caller mistake: throws a {@link DomainError} with `code` unless `cond` holds. */
export function validateArgument(
  cond: unknown,
  code: DomainErrorCode,
  message: string,
  fields?: string[],
): asserts cond {
  if (!cond) throw new DomainError({ code, message, fields });
}
