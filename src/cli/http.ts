import { CliError } from './errors';

/** An RFC 9457 problem from the API. */
export interface ProblemBody {
  code?: string;
  title?: string;
  detail?: string;
  status?: number;
  [k: string]: unknown;
}

/** Error from an API call: `code`/`detail` of the problem, the HTTP status. */
export class ApiError extends CliError {
  readonly problem: ProblemBody | null;
  readonly retryAfter?: number;

  constructor(status: number, problem: ProblemBody | null, text: string, retryAfter?: number) {
    const code = problem?.code ?? `HTTP_${status}`;
    const detail = problem?.detail ?? problem?.title ?? (text.trim().slice(0, 200) || `HTTP ${status}`);
    super(code, detail, { status });
    this.problem = problem;
    this.retryAfter = retryAfter;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Minimal JSON client for the notary API (Bearer key, problem+json errors, retries on 429/503). */
export class ApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly apiKey: string,
    private readonly opts: { timeoutMs?: number; retries?: number } = {},
  ) {}

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const retries = this.opts.retries ?? 4;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.once<T>(method, path, body);
      } catch (err) {
        const retryable = err instanceof ApiError && (err.status === 429 || err.status === 503);
        if (!retryable || attempt >= retries) throw err;
        await sleep(Math.min(10_000, (err.retryAfter ?? 2 ** attempt * 0.25) * 1000));
      }
    }
  }

  private async once<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.apiKey}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(this.baseUrl + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 120_000),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (err as Error).message;
      throw new CliError('API_UNREACHABLE', `cannot reach ${this.baseUrl} (${why})`, { cause: err });
    }
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    if (!res.ok) {
      const ra = Number(res.headers.get('retry-after'));
      const problem = parsed && typeof parsed === 'object' ? (parsed as ProblemBody) : null;
      throw new ApiError(res.status, problem, text, Number.isFinite(ra) && ra > 0 ? ra : undefined);
    }
    return parsed as T;
  }
}

/** True when the server has no such route (as opposed to, e.g., an unknown record). */
export function isMissingRoute(err: unknown): boolean {
  return err instanceof ApiError && err.status === 404 && (err.code === 'NOT_FOUND' || err.code === 'HTTP_404');
}
