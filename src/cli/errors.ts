/**
 * A failure the CLI reports as one line, `notary: <code>: <message>`, with its exit code
 * (1: the operation failed, 2: the command was used wrongly).
 */
export class CliError extends Error {
  override name = 'CliError';
  readonly code: string;
  readonly exitCode: number;
  /** HTTP status when the error came from the API. */
  readonly status?: number;

  constructor(code: string, message: string, opts: { exitCode?: number; status?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.exitCode = opts.exitCode ?? 1;
    this.status = opts.status;
  }
}

/** A usage error: exit code 2. */
export function usageError(message: string): CliError {
  return new CliError('USAGE', message, { exitCode: 2 });
}

/** The one line printed for any error (no stack trace). */
export function errorLine(err: unknown): string {
  if (err instanceof CliError) return `notary: ${err.code}: ${err.message}`;
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : 'ERROR';
  const message = typeof e?.message === 'string' ? e.message : String(err);
  return `notary: ${code}: ${message.split('\n')[0]}`;
}
